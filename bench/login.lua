-- wrk: the sign-in form of the authorization endpoint, posted as a browser would (with its
-- CSRF cookie). Every request is a full login: argon2id check, session, code, audit.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "dvc_csrf=benchcsrf"
wrk.body = "response_type=code&client_id=bench&redirect_uri=http%3A%2F%2Fbench.localhost%2Fcb"
  .. "&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
  .. "&code_challenge_method=S256&email=bench%40example.vn"
  .. "&password=m%E1%BB%99t+m%E1%BA%ADt+kh%E1%BA%A9u+%C4%91%E1%BB%A7+d%C3%A0i&csrf=benchcsrf"

local bad = 0
function response(status, headers, body)
  if status ~= 302 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non-302: %d\n", bad))
end
