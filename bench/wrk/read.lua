-- GET the segment of a different known client per request (ids from BENCH_IDS, one a line).
local token = os.getenv("BENCH_TOKEN")
local ids, counter = {}, 0

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do table.insert(ids, line) end
  counter = math.random(#ids)
end

function request()
  counter = counter % #ids + 1
  return wrk.format("GET", "/v1/clients/" .. ids[counter] .. "/segment", {
    ["Authorization"] = "Bearer " .. token,
  })
end
