//! Session formats read natively, each tested against cookies its real
//! library writes (`support::writers`).

mod cookie_session;
mod rails;
