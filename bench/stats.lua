-- wrk: GET a tenant's statistics (STATS_PATH) with its leader's token from TOKENS.
local slug = os.getenv("SLUG")
local token
for line in io.lines(os.getenv("TOKENS")) do
  local s, t = line:match("^(%S+) (%S+)$")
  if s == slug then token = t end
end
local path = "/t/" .. slug .. (os.getenv("STATS_PATH") or "/api/v1/stats")
local bad = 0
function request()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non-200: %d\n", bad))
end
