-- POST /api/v1/auth/login with the bench user's credentials (from the environment); with
-- BENCH_FORM=1, as form fields username and password (fastapi-users' /auth/jwt/login).
-- Each request comes "from" a random client address in X-Forwarded-For, so per-IP login rate
-- limits (the contract's 20/min) do not turn the storm into 429s; the runner starts this
-- Gatehouse instance with GATEHOUSE_TRUSTED_PROXIES=127.0.0.1 so the header is believed.
local email = os.getenv("BENCH_EMAIL")
local password = os.getenv("BENCH_PASSWORD")
assert(email and password, "BENCH_EMAIL and BENCH_PASSWORD must be set")

local function form_escape(text)
  return (string.gsub(text, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

wrk.method = "POST"
if os.getenv("BENCH_FORM") == "1" then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = "username=" .. form_escape(email) .. "&password=" .. form_escape(password)
else
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)
end

math.randomseed(os.time())

request = function()
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  wrk.headers["X-Forwarded-For"] = ip
  return wrk.format()
end
