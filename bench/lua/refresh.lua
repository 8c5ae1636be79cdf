-- POST /api/v1/auth/refresh, every request with a live refresh token never sent before.
-- Run with as many wrk threads as connections (-t N -c N): each thread drives one connection
-- and one session, and chains: the refresh token in each 200's body is its next request's.
-- BENCH_REFRESH_TOKENS: at least one refresh token per thread (fresh logins), space-separated.
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
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  -- A failed rotation leaves no token to send next: send a dead one from then on, so every
  -- later request is an error too, instead of a replay of the old token (which the grace
  -- interval would answer with 200).
  local next_token = status == 200 and string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  token = next_token or "bench-no-live-token"
end
