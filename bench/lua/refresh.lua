-- POST /api/v1/auth/refresh, every request with a live refresh token never sent before.
-- Run with as many wrk threads as connections (-t N -c N): each thread drives one connection
-- and one session, and chains: the refresh token in each 200's body is its next request's.
-- BENCH_REFRESH_TOKENS: at least one refresh token per thread (fresh logins), space-separated.
-- Each request comes "from" a random client address in X-Forwarded-For, as in login.lua, so
-- the contract's per-IP refresh limit (150 per 5 minutes, the default this instance keeps) does
-- not turn the run into 429s; the runner starts the instance with
-- GATEHOUSE_TRUSTED_PROXIES=127.0.0.1 so the header is believed.
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS") or "", "%S+") do
  table.insert(tokens, t)
end
assert(#tokens > 0, "BENCH_REFRESH_TOKENS must be set")

local count = 0
function setup(thread)
  count = count + 1
  assert(count <= #tokens, "more wrk threads than refresh tokens")
  thread:set("token", tokens[count])
  thread:set("seed", count)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  -- Each thread's own sequence of addresses (seeded alike, they would repeat each other's).
  math.randomseed(os.time() * 100 + seed)
end

function request()
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  wrk.headers["X-Forwarded-For"] = ip
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  -- A failed rotation leaves no token to send next: send a dead one from then on, so every
  -- later request is an error too, instead of a replay of the old token (which the grace
  -- interval would answer with 200).
  local next_token = status == 200 and string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  token = next_token or "bench-no-live-token"
end
