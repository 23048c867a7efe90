-- wrk: gateway IPNs, each settling a different pending payment (IPNS: one signed path per
-- line). Threads take alternate lines so no two send the same IPN; once the file is used up
-- they wrap around, and the repeats are answered as duplicates ("02").
local paths = {}
for line in io.lines(os.getenv("IPNS")) do paths[#paths + 1] = line end
local threads = 0
local counter = 0
local step = 1
local codes = {}

function setup(thread)
  threads = threads + 1
  thread:set("first", threads)
end

function init(args)
  counter = first or 1
  step = 2
end

function request()
  local p = paths[(counter - 1) % #paths + 1]
  counter = counter + step
  return wrk.format("GET", p)
end

function response(status, headers, body)
  local code = body:match('"RspCode":"(%d+)"') or tostring(status)
  codes[code] = (codes[code] or 0) + 1
end

function done(summary, latency, requests)
  -- wrk only reports the main state's counters; per-thread tallies are printed by threads.
end
