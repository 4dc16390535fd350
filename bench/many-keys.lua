-- wrk script for bench/throughput.sh: many keys. Rotates through COUNT
-- requests, request i carrying the i-th line of COOKIE_FILE as its
-- session cookie (COOKIE_NAME=value) and the address 10.<i mod ADDRS as
-- two octets> in X-Forwarded-For (the service trusts 127.0.0.1 as a proxy),
-- so both the subjects' and the addresses' buckets are many. The requests
-- are formatted once at start-up: per request, Lua only picks the next one.
--
-- env COOKIE_FILE  one percent-encoded cookie value per line (10,000)
-- env COOKIE_NAME  the cookie's name (default session)
-- env ADDRS        client addresses to rotate through (default 1000)
-- env ORIGIN       Origin header (omitted when empty)
local file = assert(os.getenv("COOKIE_FILE"), "COOKIE_FILE is not set")
local name = os.getenv("COOKIE_NAME") or "session"
local addrs = tonumber(os.getenv("ADDRS") or "1000")
local origin = os.getenv("ORIGIN")

local cookies = {}
for line in io.lines(file) do
  if line ~= "" then cookies[#cookies + 1] = line end
end
assert(#cookies > 0, "no cookies in " .. file)

local requests = {}
local next_request = 1

function init(args)
  for i = 1, #cookies do
    local a = (i - 1) % addrs
    local headers = {
      ["Cookie"] = name .. "=" .. cookies[i],
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256),
    }
    if origin and origin ~= "" then headers["Origin"] = origin end
    requests[i] = wrk.format("POST", nil, headers, nil)
  end
  -- Each thread starts elsewhere in the rotation.
  next_request = (math.random(#requests) - 1) % #requests + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end
