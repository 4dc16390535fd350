//! Histograms and counters that each thread records into a copy of its own,
//! summed at every scrape. A request then writes no cache line that another
//! worker writes too: with one shared histogram, every observation is four
//! atomic read-modify-writes on lines the workers pass back and forth.
//!
//! A scrape reads each copy's buckets before its count, as Prometheus's own
//! histogram is written (bucket, sum, count), so a series never shows more
//! in its buckets than in its count.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Metric, MetricFamily};
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, Opts};

/// Distinguishes the instances in the threads' caches.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Instances a thread keeps copies for before it starts over (tests build
/// many servers in one process; a server keeps a handful). Starting over
/// loses nothing: the copies stay with their instance.
const CACHED_INSTANCES: usize = 64;

/// This thread's copy of one instance: the copy, and its children by
/// label values.
struct LocalVec {
    owner: u64,
    copy: HistogramVec,
    children: Vec<(Vec<String>, Histogram)>,
}

thread_local! {
    static HISTOGRAMS: RefCell<Vec<LocalVec>> = const { RefCell::new(Vec::new()) };
    static COUNTERS: RefCell<Vec<(u64, IntCounter)>> = const { RefCell::new(Vec::new()) };
}

/// A histogram vector recorded per thread; registers as one collector.
#[derive(Clone)]
pub struct ThreadHistogramVec {
    inner: Arc<HistogramInner>,
}

struct HistogramInner {
    id: u64,
    opts: HistogramOpts,
    label_names: Vec<String>,
    desc: Desc,
    /// Every thread's copy, and one holding the series shown from the start.
    copies: Mutex<Vec<HistogramVec>>,
}

impl ThreadHistogramVec {
    /// A vector named and bucketed by `opts`, labelled `label_names`, that
    /// shows the label sets in `shown` (at zero) before anything is recorded.
    pub fn new(opts: HistogramOpts, label_names: &[&str], shown: &[&[&str]]) -> Self {
        let base = HistogramVec::new(opts.clone(), label_names).expect("valid histogram options");
        for labels in shown {
            base.with_label_values(labels);
        }
        let desc = base.desc()[0].clone();
        Self {
            inner: Arc::new(HistogramInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                opts,
                label_names: label_names.iter().map(|&n| n.to_owned()).collect(),
                desc,
                copies: Mutex::new(vec![base]),
            }),
        }
    }

    /// Records `value` in the series `labels` (in `label_names` order).
    pub fn observe(&self, labels: &[&str], value: f64) {
        HISTOGRAMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            let at = match cache.iter().position(|v| v.owner == self.inner.id) {
                Some(at) => at,
                None => {
                    if cache.len() >= CACHED_INSTANCES {
                        cache.clear();
                    }
                    cache.push(LocalVec {
                        owner: self.inner.id,
                        copy: self.inner.new_copy(),
                        children: Vec::new(),
                    });
                    cache.len() - 1
                }
            };
            let local = &mut cache[at];
            let same =
                |names: &Vec<String>| names.iter().map(String::as_str).eq(labels.iter().copied());
            match local.children.iter().find(|(names, _)| same(names)) {
                Some((_, histogram)) => histogram.observe(value),
                None => {
                    let histogram = local.copy.with_label_values(labels);
                    histogram.observe(value);
                    let names = labels.iter().map(|&l| l.to_owned()).collect();
                    local.children.push((names, histogram));
                }
            }
        });
    }
}

impl HistogramInner {
    fn new_copy(&self) -> HistogramVec {
        let names: Vec<&str> = self.label_names.iter().map(String::as_str).collect();
        let copy = HistogramVec::new(self.opts.clone(), &names).expect("valid histogram options");
        self.copies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(copy.clone());
        copy
    }
}

impl Collector for ThreadHistogramVec {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let copies = self
            .inner
            .copies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut family = None::<MetricFamily>;
        // Series by label pairs, summed over the copies.
        let mut series = BTreeMap::<Vec<(String, String)>, Metric>::new();
        for copy in &copies {
            for mut mf in copy.collect() {
                for metric in mf.take_metric() {
                    let key = metric
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_owned(), l.value().to_owned()))
                        .collect();
                    match series.get_mut(&key) {
                        None => {
                            series.insert(key, metric);
                        }
                        Some(sum) => add_histogram(sum, &metric),
                    }
                }
                family.get_or_insert(mf);
            }
        }
        let Some(mut family) = family else {
            return Vec::new();
        };
        family.set_metric(series.into_values().collect());
        vec![family]
    }
}

/// Adds `more`'s counts and sum to `sum` (same buckets).
fn add_histogram(sum: &mut Metric, more: &Metric) {
    let more = more.get_histogram();
    let mut total = prometheus::proto::Histogram::clone(sum.get_histogram());
    total.set_sample_count(total.get_sample_count() + more.get_sample_count());
    total.set_sample_sum(total.get_sample_sum() + more.get_sample_sum());
    let mut buckets = total.get_bucket().to_vec();
    for (bucket, other) in buckets.iter_mut().zip(more.get_bucket()) {
        bucket.set_cumulative_count(bucket.cumulative_count() + other.cumulative_count());
    }
    total.set_bucket(buckets);
    sum.set_histogram(total);
}

/// A counter recorded per thread; registers as one collector.
#[derive(Clone)]
pub struct ThreadCounter {
    inner: Arc<CounterInner>,
}

struct CounterInner {
    id: u64,
    opts: Opts,
    desc: Desc,
    copies: Mutex<Vec<IntCounter>>,
}

impl ThreadCounter {
    /// A counter named by `opts`, shown at zero from the start.
    pub fn new(opts: Opts) -> Self {
        let base = IntCounter::with_opts(opts.clone()).expect("valid counter options");
        let desc = base.desc()[0].clone();
        Self {
            inner: Arc::new(CounterInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                opts,
                desc,
                copies: Mutex::new(vec![base]),
            }),
        }
    }

    /// Adds one.
    pub fn inc(&self) {
        COUNTERS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some((_, counter)) = cache.iter().find(|(id, _)| *id == self.inner.id) {
                counter.inc();
                return;
            }
            if cache.len() >= CACHED_INSTANCES {
                cache.clear();
            }
            let counter =
                IntCounter::with_opts(self.inner.opts.clone()).expect("valid counter options");
            self.inner
                .copies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(counter.clone());
            counter.inc();
            cache.push((self.inner.id, counter));
        });
    }
}

impl Collector for ThreadCounter {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let copies = self.inner.copies.lock().unwrap_or_else(|e| e.into_inner());
        let total = IntCounter::with_opts(self.inner.opts.clone()).expect("valid counter options");
        total.inc_by(copies.iter().map(IntCounter::get).sum());
        total.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder as _, Registry, TextEncoder};

    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What one shared vector and counter show after the same records.
    fn shared_after(records: &[(&str, f64)]) -> String {
        let registry = Registry::new();
        let opts = HistogramOpts::new("h_seconds", "help").buckets(vec![0.1, 1.0]);
        let shared = HistogramVec::new(opts, &["route"]).unwrap();
        shared.with_label_values(&["shown"]);
        let counter = IntCounter::new("c_total", "count").unwrap();
        registry.register(Box::new(shared.clone())).unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        for (route, value) in records {
            shared.with_label_values(&[route]).observe(*value);
            counter.inc();
        }
        render(&registry)
    }

    #[test]
    fn copies_per_thread_show_what_one_shared_metric_shows() {
        let registry = Registry::new();
        let opts = HistogramOpts::new("h_seconds", "help").buckets(vec![0.1, 1.0]);
        let histograms = ThreadHistogramVec::new(opts, &["route"], &[&["shown"]]);
        let counter = ThreadCounter::new(Opts::new("c_total", "count"));
        registry.register(Box::new(histograms.clone())).unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        assert_eq!(render(&registry), shared_after(&[]), "zeros from the start");
        let records = [("a", 0.0625), ("b", 0.5), ("a", 2.0), ("shown", 0.03125)];
        std::thread::scope(|s| {
            for (route, value) in records {
                let (histograms, counter) = (&histograms, &counter);
                s.spawn(move || {
                    histograms.observe(&[route], value);
                    counter.inc();
                });
            }
        });
        // Twice more on this thread: its copy is reused. (Binary fractions:
        // sums in another order are the same.)
        histograms.observe(&["a"], 0.0625);
        histograms.observe(&["a"], 0.0625);
        counter.inc();
        counter.inc();
        let mut all = records.to_vec();
        all.extend([("a", 0.0625), ("a", 0.0625)]);
        assert_eq!(render(&registry), shared_after(&all));
    }
}
