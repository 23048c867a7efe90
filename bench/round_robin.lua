-- wrk: spread requests round-robin over TENANTS tenants named bench-0001…, through /t/{slug}/.
local n = tonumber(os.getenv("TENANTS") or "1000")
local tail = os.getenv("BENCH_PATH") or "/api/v1/procedures"
local counter = 0

function setup(thread)
  thread:set("offset", math.random(0, n - 1))
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter % n + 1
  return wrk.format("GET", string.format("/t/bench-%04d%s", counter, tail))
end
