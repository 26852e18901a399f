-- wrk script of benchmarks/api_load.py: rotate through request paths, count non-2xx answers, and print
-- one line of JSON at the end ("WRK_REPORT {...}") with requests/s, latency percentiles and the errors.
--
--   wrk -t2 -c16 -d15s --latency -s benchmarks/wrk_report.lua -H "Authorization: Token ..." http://127.0.0.1:PORT \
--       -- /tmp/paths.txt
--
-- The argument after "--" is a file of request paths, one a line; each thread starts at a different line
-- and cycles through them. Without it, every request goes to the URL's own path.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   non2xx = 0
   statuses = {}
   if args[1] then
      for line in io.lines(args[1]) do
         if line ~= "" then
            table.insert(paths, line)
         end
      end
   end
   -- Spread the threads over the list so they do not ask for the same path at the same moment.
   position = #paths > 0 and ((id - 1) * math.floor(#paths / math.max(counter, 1))) % #paths or 0
end

function request()
   if #paths == 0 then
      return wrk.format(nil)
   end
   position = position % #paths + 1
   return wrk.format(nil, paths[position])
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      statuses[status] = (statuses[status] or 0) + 1
      if non2xx == 1 then
         io.stderr:write(string.format("first non-2xx: %d %s %s\n", status, headers["Location"] or "",
            string.sub(body or "", 1, 300)))
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   local counts = {}
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("non2xx")
      for status, count in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + count
      end
   end
   local by_status = {}
   for status, count in pairs(counts) do
      by_status[#by_status + 1] = string.format('"%d": %d', status, count)
   end
   local seconds = summary.duration / 1e6
   io.write(string.format(
      'WRK_REPORT {"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.3f, "p95_ms": %.3f, '
         .. '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, "non_2xx": %d, "non_2xx_statuses": {%s}, '
         .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "bytes": %d}\n',
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, latency.mean / 1000, bad, table.concat(by_status, ", "),
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.bytes
   ))
end
