-- POST one assessment per request, each for a person not seen before (wrk's threads take
-- turns through the numbers). The token and the first number come from the environment.
local CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH") or "/v1/assessments"
local first = tonumber(os.getenv("BENCH_FIRST") or "0")
local threads, counter = {}, 0
local step = tonumber(os.getenv("BENCH_THREADS") or "2")
-- With BENCH_SPAN, the numbers go round within first .. first + span - 1 (people written
-- before: every request a known client).
local span = tonumber(os.getenv("BENCH_SPAN") or "0")

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = first + (id or 0)
end

local function hetu(n)
  local birth = string.format("%02d%02d%02d", n % 28 + 1, math.floor(n / 28) % 12 + 1,
    math.floor(n / 336) % 100)
  local individual = 2 + math.floor(n / 33600) % 897
  local digits = tonumber(birth .. string.format("%03d", individual))
  local c = digits % 31 + 1
  return birth .. "-" .. string.format("%03d", individual) .. string.sub(CHECK, c, c)
end

function request()
  local n = counter
  if span > 0 then
    n = first + (counter - first) % span
  end
  counter = counter + step
  local body = '{"client": {"hetu": "' .. hetu(n) .. '"}, "model": "helsinki-2023", ' ..
    '"answers": {"coping": "difficult", "risk_level": "many"}}'
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
