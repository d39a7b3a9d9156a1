-- wrk script: GET /v1/customers/<id>/360 over the hot customers' ids, in turn, with a bearer
-- token. Environment: IDS_FILE (one id per line, as gateway_load --ids_file writes), TOKEN.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local auth = "Bearer " .. os.getenv("TOKEN")
local counter = 0

request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  return wrk.format("GET", "/v1/customers/" .. id .. "/360", { ["Authorization"] = auth })
end

-- Non-2xx answers would be counted as requests by wrk; report them so a bad run shows.
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
