-- GET BENCH_PATH (the health check, or a bare endpoint).
local path = os.getenv("BENCH_PATH") or "/healthz"
function request()
  return wrk.format("GET", path)
end
