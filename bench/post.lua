-- wrk script for bench/run.sh: one fixed request, optional exact status count.
--
-- env METHOD         request method (default POST)
-- env COOKIE         Cookie header (omitted when empty)
-- env ORIGIN         Origin header (omitted when empty)
-- env EXACT_STATUS=1 with EXPECT_STATUS=<code>: count every response whose
--                    status differs from EXPECT_STATUS and print
--                    "unexpected_status <n>" at the end. Off by default: the
--                    per-response Lua callback costs wrk CPU, which on a small
--                    machine (wrk shares the cores) lowers the measured rate.
wrk.method = os.getenv("METHOD") or "POST"

local cookie = os.getenv("COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
local origin = os.getenv("ORIGIN")
if origin and origin ~= "" then wrk.headers["Origin"] = origin end

local expect = tonumber(os.getenv("EXPECT_STATUS") or "")
if os.getenv("EXACT_STATUS") == "1" and expect then
  local threads = {}
  unexpected = 0

  function setup(thread)
    table.insert(threads, thread)
  end

  function response(status, headers, body)
    if status ~= expect then unexpected = unexpected + 1 end
  end

  function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + (t:get("unexpected") or 0) end
    io.write(string.format("unexpected_status %d\n", n))
  end
end
