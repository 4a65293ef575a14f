-- bench/lib/events.lua: POST /v1/events, each a distinct signed conversion.
-- wrk -s events.lua URL -- PREFIX STATE
--
-- Thread t sends the lines of PREFIX.t (bench/lib/events.py) in order,
-- starting where the previous run stopped: STATE holds one byte offset per
-- thread and is rewritten by done(), so that no event is sent twice
-- across the warm-up and the repetitions.  A thread that reaches the end
-- of its file starts over (duplicates) and sets "eof", which done()
-- reports as "BENCH eof=1": bench/run then discards the run.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" ..
    package.path
require "common"

function init(args)
	state = args[2]
	local pos = 0
	local s = io.open(state, "r")
	if s then
		local i = 0
		for line in s:lines() do
			if i == tid then pos = tonumber(line) end
			i = i + 1
		end
		s:close()
	end
	f = assert(io.open(args[1] .. "." .. tid, "r"))
	f:seek("set", pos)
	offset = pos
	eof = 0
	headers = { ["Content-Type"] = "application/json" }
end

function request()
	local line = f:read("*l")
	if not line then
		eof = 1
		f:seek("set", 0)
		line = f:read("*l")
	end
	offset = f:seek()
	local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
	headers["webhook-id"] = id
	headers["webhook-timestamp"] = ts
	headers["webhook-signature"] = sig
	return wrk.format("POST", "/v1/events", headers, body)
end

function bench_done(threads)
	local s = assert(io.open(threads[1]:get("state"), "w"))
	local eofs = 0
	for _, t in ipairs(threads) do
		s:write(string.format("%d\n", t:get("offset")))
		eofs = eofs + t:get("eof")
	end
	s:close()
	io.write(string.format("BENCH eof=%d\n", eofs > 0 and 1 or 0))
end
