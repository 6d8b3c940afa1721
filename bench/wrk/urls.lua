-- wrk script for bench/run.py: sends requests to a list of targets read from a file (one
-- "path?query" a line: presigned S3 URLs for cofferd, plain paths for nginx) and counts
-- what wrk does not: non-2xx answers and bodies that are not what the case expects.
--
--   wrk ... -s urls.lua http://127.0.0.1:PORT/ -- FILE MODE METHOD NTHREADS BODYFILE EXPECT [PATTERN MIN]
--
-- MODE cycle: every thread cycles over all targets, each from its own offset.
-- MODE once:  the threads split the targets and send each exactly once (PUT of fresh keys,
--             DELETE of existing ones); a thread that has all its answers writes
--             "@@done <id>" on stderr and stops, and run.py interrupts wrk when all have, so
--             wrk's duration (and rate) is the time the requests really took.
-- BODYFILE: the request body ("-" for none). EXPECT: the body length every answer must
-- have (-1: any). PATTERN, MIN: the body must hold PATTERN at least MIN times (listings).
-- done() prints one line "@@result {json}" on stdout.
--
-- With BENCH_WRK_NO_BODY set, response() is not defined: wrk then neither collects bodies nor
-- makes a Lua string of each, which for 1 MiB bodies cost the client (not the server) 2 to 5
-- times the server's CPU on these VMs and made the GET 1 MiB ratio the client's noise.
-- run.py then checks statuses and the byte total instead (and checks every body in the
-- warm-up, which keeps response()).

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
    table.insert(threads, thread)
end

local targets = {}   -- this thread's request targets
local reqs = {}      -- prebuilt requests (cycle mode without a body)
local method, body, once
local expect_len, pattern, min_count
local pos = 0        -- cycle: last index sent; once: requests built so far
local reserved = 0   -- once: requests promised by delay()

bad_status = 0
short = 0
responses = 0
issued = 0
dups = 0

local function count(s, pat)
    local n, i = 0, 1
    while true do
        local j = string.find(s, pat, i, true)
        if not j then
            return n
        end
        n = n + 1
        i = j + #pat
    end
end

function init(args)
    local file = args[1]
    once = args[2] == "once"
    method = args[3]
    local nthreads = tonumber(args[4])
    local bodyfile = args[5] or "-"
    expect_len = tonumber(args[6] or "-1")
    pattern = args[7]
    if pattern == "-" then
        pattern = nil
    end
    min_count = tonumber(args[8] or "0")

    if bodyfile ~= "-" then
        local f = assert(io.open(bodyfile, "rb"))
        body = f:read("*a")
        f:close()
    end

    local all = {}
    local n = 0
    for line in io.lines(file) do
        if #line > 0 then
            n = n + 1
            -- once: thread k keeps targets k, k+T, k+2T...; each goes out once in all.
            if not once then
                all[n] = line
            elseif (n - tid) % nthreads == 0 then
                targets[#targets + 1] = line
            end
        end
    end

    if once then
        if #targets == 0 then
            io.stderr:write("@@done " .. tid .. "\n")
        end
    else
        -- Each thread starts at its own offset so the threads do not move in step.
        local start = math.floor((tid - 1) * #all / nthreads)
        for i = 1, #all do
            targets[i] = all[(start + i - 1) % #all + 1]
        end
        if not body then
            for i = 1, #targets do
                reqs[i] = wrk.format(method, targets[i])
            end
        end
        delay = nil -- cycle mode needs no gate: wrk skips delay() when it is not a function
    end
end

-- once mode: a connection may start a request only while targets are left; the others
-- wait out the run (an hour is longer than any run, and run.py interrupts wrk).
function delay()
    if reserved < #targets then
        reserved = reserved + 1
        return 0
    end
    return 3600000
end

function request()
    if once then
        if pos >= reserved then
            -- Not let through by delay(): wrk checking the script before the run (it calls
            -- request() once and sends nothing), or a resend after a reconnect (which
            -- comes with a socket error). Neither may use up a target.
            if reserved > 0 then
                dups = dups + 1
            end
            return wrk.format(method, targets[math.max(pos, 1)], nil, body)
        end
        pos = pos + 1
        issued = pos
        return wrk.format(method, targets[pos], nil, body)
    end
    pos = pos + 1
    if pos > #targets then
        pos = 1
    end
    issued = issued + 1
    if body then
        return wrk.format(method, targets[pos], nil, body)
    end
    return reqs[pos]
end

function response(status, headers, rbody)
    responses = responses + 1
    local n = rbody and #rbody or 0
    if status < 200 or status > 299 then
        bad_status = bad_status + 1
    elseif expect_len >= 0 and n ~= expect_len then
        short = short + 1
    elseif pattern and count(rbody or "", pattern) < min_count then
        short = short + 1
    end
    if once and responses == #targets then
        io.stderr:write("@@done " .. tid .. "\n")
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local bad, sh, resp, dup, maxissued = 0, 0, 0, 0, 0
    for _, t in ipairs(threads) do
        bad = bad + (t:get("bad_status") or 0)
        sh = sh + (t:get("short") or 0)
        resp = resp + (t:get("responses") or 0)
        dup = dup + (t:get("dups") or 0)
        maxissued = math.max(maxissued, t:get("issued") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        '@@result {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, ' ..
        '"p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, "connect": %d, ' ..
        '"read": %d, "write": %d, "status": %d, "timeout": %d, "bad_status": %d, ' ..
        '"short": %d, "responses": %d, "dups": %d, "max_issued": %d}\n',
        summary.requests, summary.duration, summary.bytes, latency:percentile(50),
        latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
        e.connect, e.read, e.write, e.status, e.timeout, bad, sh, resp, dup, maxissued))
    io.stdout:flush()
end

if os.getenv("BENCH_WRK_NO_BODY") then
    response = nil
end
