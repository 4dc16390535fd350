-- wrk script for scripts/faults.sh --soak: POST with a Cookie header, and an
-- exact count of every response status (wrk's own "Non-2xx or 3xx" counter
-- only knows status > 399). Prints "status <code> <count>" lines at the end.
--
-- env COOKIE  Cookie header
wrk.method = "POST"
wrk.headers["Cookie"] = os.getenv("COOKIE")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d %d\n", status, n)) end
end
