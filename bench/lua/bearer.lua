-- GET with "Authorization: Bearer <token>", the token from the environment (BENCH_TOKEN).
local token = os.getenv("BENCH_TOKEN")
assert(token and #token > 0, "BENCH_TOKEN must be set")
wrk.headers["Authorization"] = "Bearer " .. token
