-- bench/lib/signup.lua: POST /v1/signups, distinct new users, each with a
-- valid code.  wrk -s signup.lua URL -- API_KEY CODES FIRST STATE THREADS
--
-- Thread t of THREADS sends user ids FIRST+t, FIRST+t+THREADS, ...; user N
-- uses the code on line N mod (lines) of CODES, so successive users spread
-- over every referrer (the velocity rule allows 10 an hour each), with the
-- email, IPv6 address and device fingerprint bench/sqlfloor derives from N.
-- done() writes to STATE the first id the next run may use.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" ..
    package.path
require "common"

function init(args)
	codes = {}
	for code in io.lines(args[2]) do codes[#codes + 1] = code end
	ncodes = #codes
	first = tonumber(args[3])
	state = args[4]
	nthreads = tonumber(args[5])
	k = 0
	headers = { ["Content-Type"] = "application/json",
	    ["Authorization"] = "Bearer " .. args[1] }
end

function request()
	local id = first + k * nthreads + tid
	k = k + 1
	local body = string.format('{"user_id":%d,"code":"%s",' ..
	    '"email":"u%d@mail.example","ip":"2001:db8::%x:%x",' ..
	    '"device_fingerprint":"dev-%d"}', id, codes[id % ncodes + 1], id,
	    math.floor(id / 65536) % 65536, id % 65536, id)
	return wrk.format("POST", "/v1/signups", headers, body)
end

function bench_done(threads)
	local maxk = 0
	for _, t in ipairs(threads) do
		local tk = t:get("k")
		if tk > maxk then maxk = tk end
	end
	local s = assert(io.open(threads[1]:get("state"), "w"))
	local t1 = threads[1]
	s:write(string.format("%d\n", t1:get("first") + maxk * t1:get("nthreads")))
	s:close()
end
