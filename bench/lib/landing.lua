-- bench/lib/landing.lua: GET PREFIX{code}, a random valid code each time.
-- wrk -s landing.lua URL -- CODES_FILE [PREFIX]   (PREFIX defaults to /r/)
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" ..
    package.path
require "common"

function init(args)
	local prefix = args[2] or "/r/"
	reqs = {}
	for code in io.lines(args[1]) do
		reqs[#reqs + 1] = wrk.format("GET", prefix .. code)
	end
	n = #reqs
	math.randomseed(os.time() * 16 + tid)
end

function request()
	return reqs[math.random(n)]
end
