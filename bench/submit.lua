-- wrk: dossier submissions (JSON, validated against the procedure's form schema) spread
-- round-robin over the tenants listed in TOKENS ("slug token" per line).
local entries = {}
for line in io.lines(os.getenv("TOKENS")) do
  local slug, token = line:match("^(%S+) (%S+)$")
  if slug and slug:match("^bench%-") then entries[#entries + 1] = { slug, token } end
end
local body = '{"procedure":"1.001978","phone":"0912345678","form":{"ho_ten":"Nguyễn Văn Dân",'
  .. '"ngay_sinh":"1990-02-03","so_cccd":"001090012345","noi_lam_viec":"Công ty TNHH Thử nghiệm",'
  .. '"so_thang_dong_bhtn":36}}'
local counter = 0
local bad = 0

function setup(thread)
  thread:set("offset", math.random(0, #entries - 1))
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter % #entries + 1
  local e = entries[counter]
  return wrk.format("POST", "/t/" .. e[1] .. "/api/v1/dossiers",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. e[2] }, body)
end

function response(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-201: %d\n", bad))
end
