-- bench/lib/common.lua: shared by the wrk scripts of bench/run.
--
-- setup() numbers the threads (global "tid" in each, from 0) and keeps
-- them, so that done() can read their state; done() prints one line that
-- bench/run parses:
--   BENCH requests=N duration_us=N rps=N p50_us=N p99_us=N errors=N
-- (errors: connect, read, write and timeout errors, and statuses >= 400).

local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function bench_threads()
	return threads
end

function bench_report(summary, latency)
	local e = summary.errors
	local errs = e.connect + e.read + e.write + e.timeout + e.status
	io.write(string.format("BENCH requests=%d duration_us=%d rps=%.1f " ..
	    "p50_us=%d p99_us=%d errors=%d\n", summary.requests,
	    summary.duration, summary.requests * 1e6 / summary.duration,
	    latency:percentile(50), latency:percentile(99), errs))
end

function done(summary, latency, requests)
	bench_report(summary, latency)
	if bench_done then
		bench_done(threads)
	end
end
