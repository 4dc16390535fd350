-- wrk script for bench/run.sh: one fixed request, optional exact status count.
--
-- env METHOD         request method (default POST)
-- env COOKIE         Cookie header (omitted when empty)
-- env ORIGIN         Origin header (omitted when empty)
-- env EXACT_STATUS=1 count every response by status and print one
--                    "status <code> <count>" line per status at the end
--                    (wrk's own counter only knows "status > 399"). Off by
--                    default: the per-response Lua callback costs wrk CPU,
--                    which on a small machine (wrk shares the cores) lowers
--                    the measured rate.
wrk.method = os.getenv("METHOD") or "POST"

local cookie = os.getenv("COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
local origin = os.getenv("ORIGIN")
if origin and origin ~= "" then wrk.headers["Origin"] = origin end

if os.getenv("EXACT_STATUS") == "1" then
  local threads = {}
  counts = {}

  function setup(thread)
    table.insert(threads, thread)
  end

  function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
  end

  function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
      for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
    end
    for status, n in pairs(total) do io.write(string.format("status %d %d\n", status, n)) end
  end
end
