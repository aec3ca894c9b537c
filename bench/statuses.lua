-- wrk script (bench/server.py): count the responses that are not a 200, and the body bytes,
-- so that a redirect to the sign-in page (an expired cookie, say) never passes for a page.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
  body_bytes = 0
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
  body_bytes = body_bytes + #body
end

function done(summary, latency, requests)
  local bad, bytes = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_ok")
    bytes = bytes + thread:get("body_bytes")
  end
  io.write(string.format("Not 200: %d\n", bad))
  io.write(string.format("Body bytes: %d\n", bytes))
end
