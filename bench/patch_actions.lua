-- wrk script: PATCH /api/v1/actions/{id} with the If-Match the API requires.
-- BENCH_PATCH_FILE names a file of "id version" lines (actions the caller may update).
-- Each wrk thread takes its own share and cycles through it; on the k-th pass an action's
-- version is its starting version + k, so every request carries the current version as
-- long as a thread's share is much longer than its connections (the runner checks that
-- no request got 412).
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  ids, versions = {}, {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_PATCH_FILE")) do
    n = n + 1
    if n % threads == tid - 1 then
      local id, version = line:match("(%w+) (%d+)")
      ids[#ids + 1] = id
      versions[#versions + 1] = tonumber(version)
    end
  end
  sent = 0
  token = os.getenv("BENCH_TOKEN")
end

function request()
  local i = sent % #ids + 1
  local version = versions[i] + math.floor(sent / #ids)
  sent = sent + 1
  return wrk.format("PATCH", "/api/v1/actions/" .. ids[i], {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = tostring(version),
  }, '{"update": "Checked with the victim: no change"}')
end
