//! The Lua scripts that do every read-modify-write of a model's buckets inside Redis, and the
//! parsing of their replies.
//!
//! One hash per (provider, key fingerprint, model). Fields: `ts` (last refill, ms of Redis
//! `TIME`), `p` (paused until, ms), and per dimension `d` in `r t i o` (requests, tokens, input,
//! output): `dl` limit, `dr` refill per second, `dv` level. Time comes from Redis, never from
//! the callers, so hosts with skewed clocks agree; only relative durations travel.
//!
//! ARGV of every script starts with: TTL in ms, request buffer ratio, token buffer ratio.
//! Every script answers the same shape (see [`parse_state`]), so each round trip also tells
//! the caller what other processes did (learned limits, levels, a pause).

use std::time::Duration;

use crate::limit::store::{Reserved, SharedDim, SharedState};

/// Loads the hash, refills every known dimension to now, and defines `save` and `reply`.
const PRELUDE: &str = r#"
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
local ratios = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[3]), tonumber(ARGV[3])}
local names = {'r', 't', 'i', 'o'}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local h = {}
local raw = redis.call('HGETALL', key)
for n = 1, #raw, 2 do h[raw[n]] = tonumber(raw[n + 1]) end
-- No refill is credited before `hold` (the first contact's margin, see RESERVE).
local dt = math.max(0, now - math.max(h['ts'] or now, h['hold'] or 0)) / 1000
for n, d in ipairs(names) do
  if h[d .. 'l'] then
    h[d .. 'v'] = math.min(h[d .. 'l'] * ratios[n], h[d .. 'v'] + dt * h[d .. 'r'])
  end
end
local function fmt(x) return string.format('%.17g', x) end
local function save()
  local out = {'ts', fmt(now)}
  for _, d in ipairs(names) do
    if h[d .. 'l'] then
      for _, f in ipairs({'l', 'r', 'v'}) do
        table.insert(out, d .. f)
        table.insert(out, fmt(h[d .. f]))
      end
    end
  end
  if h['p'] then table.insert(out, 'p'); table.insert(out, fmt(h['p'])) end
  if h['hold'] then table.insert(out, 'hold'); table.insert(out, fmt(h['hold'])) end
  redis.call('HSET', key, unpack(out))
  redis.call('PEXPIRE', key, ttl)
end
local function reply(wait_ms)
  local out = {'ok', fmt(wait_ms), fmt(math.max(0, (h['p'] or 0) - now))}
  for _, d in ipairs(names) do
    if h[d .. 'l'] then
      table.insert(out, fmt(h[d .. 'l']))
      table.insert(out, fmt(h[d .. 'r']))
      table.insert(out, fmt(h[d .. 'v']))
    else
      table.insert(out, ''); table.insert(out, ''); table.insert(out, '')
    end
  end
  return out
end
"#;

/// ARGV[4..]: per dimension (cost, init limit or 0, init rate). Takes the cost now, even when
/// it is not covered yet, and answers how long until it is: the debt makes every later
/// reservation, from any process, wait behind this one.
///
/// Buckets created here (configured limits) start full, like the in-memory ones, and credit
/// no refill for the first-contact margin: the provider's own bucket only starts when the
/// first request reaches it. `FIRST_CONTACT_MS` is filled in from the in-memory constant.
const RESERVE: &str = r#"
local created = false
for n, d in ipairs(names) do
  local il, ir = tonumber(ARGV[3 * n + 2]), tonumber(ARGV[3 * n + 3])
  if not h[d .. 'l'] and il > 0 and ir > 0 then
    h[d .. 'l'] = il; h[d .. 'r'] = ir; h[d .. 'v'] = il * ratios[n]
    created = true
  end
end
if created and not h['ts'] then h['hold'] = now + FIRST_CONTACT_MS end
local wait = 0
for n, d in ipairs(names) do
  local cost, lim = tonumber(ARGV[3 * n + 1]), h[d .. 'l']
  if lim then
    if cost > lim then return {'never', tostring(n - 1), fmt(cost), fmt(lim)} end
    local need = math.min(cost, lim * ratios[n])
    if h[d .. 'v'] < need then wait = math.max(wait, (need - h[d .. 'v']) / h[d .. 'r'] * 1000) end
  end
end
if (h['p'] or 0) > now then wait = math.max(wait, h['p'] - now) end
for n, d in ipairs(names) do
  if h[d .. 'l'] then h[d .. 'v'] = h[d .. 'v'] - tonumber(ARGV[3 * n + 1]) end
end
save()
return reply(wait)
"#;

/// ARGV[4..6]: reserved minus actual for tokens, input, output (positive gives back).
const SETTLE: &str = r#"
for n = 2, 4 do
  local d, delta = names[n], tonumber(ARGV[n + 2])
  if h[d .. 'l'] and delta ~= 0 then
    h[d .. 'v'] = math.min(h[d .. 'l'] * ratios[n], h[d .. 'v'] + delta)
  end
end
save()
return reply(0)
"#;

/// ARGV[4..]: per dimension (limit or 0, remaining or -1, window in s or 0 when unknown).
/// A reported limit sets the size and rate (same deficit in the new size); a reported
/// remaining only ever lowers the level.
const SYNC: &str = r#"
for n, d in ipairs(names) do
  local lim, rem, win = tonumber(ARGV[3 * n + 1]), tonumber(ARGV[3 * n + 2]), tonumber(ARGV[3 * n + 3])
  local r = ratios[n]
  if lim > 0 then
    if h[d .. 'l'] then
      if win <= 0 then win = h[d .. 'l'] / h[d .. 'r'] end
      local deficit = h[d .. 'l'] * r - h[d .. 'v']
      h[d .. 'l'] = lim
      h[d .. 'v'] = lim * r - deficit
    else
      if win <= 0 then win = 60 end
      h[d .. 'l'] = lim
      h[d .. 'v'] = lim * r
    end
    h[d .. 'r'] = lim / math.max(win, 0.001)
  end
  if rem >= 0 and h[d .. 'l'] then
    h[d .. 'v'] = math.min(h[d .. 'v'], rem - h[d .. 'l'] * (1 - r))
  end
end
save()
return reply(0)
"#;

/// ARGV[4]: pause length in ms. Pauses only ever get longer.
const PAUSE: &str = r#"
h['p'] = math.max(h['p'] or 0, now + tonumber(ARGV[4]))
save()
return reply(0)
"#;

/// The four scripts, compiled once (`redis::Script` sends EVALSHA and loads on NOSCRIPT).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub reserve: redis::Script,
    pub settle: redis::Script,
    pub sync: redis::Script,
    pub pause: redis::Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let margin = crate::limit::model::FIRST_CONTACT_MARGIN.as_millis().to_string();
        let s = |body: &str| {
            redis::Script::new(&format!("{PRELUDE}{}", body.replace("FIRST_CONTACT_MS", &margin)))
        };
        Scripts { reserve: s(RESERVE), settle: s(SETTLE), sync: s(SYNC), pause: s(PAUSE) }
    }
}

/// Parses a reservation reply.
pub(crate) fn parse_reserved(reply: &[String]) -> Result<Reserved, String> {
    if reply.first().map(String::as_str) == Some("never") {
        let num = |i: usize| reply.get(i).and_then(|s| s.parse::<f64>().ok());
        return match (num(1), num(2), num(3)) {
            (Some(dim), Some(needed), Some(limit)) if (0.0..4.0).contains(&dim) => {
                Ok(Reserved::NeverFits {
                    dim: dim as usize,
                    needed: needed as u64,
                    limit: limit as u64,
                })
            }
            _ => Err(format!("malformed reply from the reserve script: {reply:?}")),
        };
    }
    let (wait, state) = parse_state(reply)?;
    Ok(Reserved::Granted { wait, state })
}

/// Parses the common reply: `ok`, wait ms, pause ms, then (limit, rate, level) per dimension
/// with empty strings for an unknown dimension.
pub(crate) fn parse_state(reply: &[String]) -> Result<(Duration, SharedState), String> {
    let bad = || format!("malformed reply from a limit script: {reply:?}");
    if reply.len() != 15 || reply[0] != "ok" {
        return Err(bad());
    }
    let ms = |s: &str| -> Result<Duration, String> {
        let v: f64 = s.parse().map_err(|_| bad())?;
        // Clamp to a day: anything longer is garbage, and from_secs_f64 panics on huge values.
        Ok(Duration::from_secs_f64((v / 1000.0).clamp(0.0, 86_400.0)))
    };
    let wait = ms(&reply[1])?;
    let pause = ms(&reply[2])?;
    let mut dims = [None; 4];
    for (i, dim) in dims.iter_mut().enumerate() {
        let f = &reply[3 + 3 * i..6 + 3 * i];
        if f[0].is_empty() {
            continue;
        }
        let num = |s: &String| s.parse::<f64>().ok().filter(|v| v.is_finite());
        match (num(&f[0]), num(&f[1]), num(&f[2])) {
            (Some(limit), Some(rate), Some(level)) => {
                *dim = Some(SharedDim { limit, rate, level });
            }
            _ => return Err(bad()),
        }
    }
    let paused_for = (!pause.is_zero()).then_some(pause);
    Ok((wait, SharedState { dims, paused_for }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_a_grant_with_known_and_unknown_dimensions() {
        let r = strs(&["ok", "1500", "0", "60", "1", "-2", "", "", "", "", "", "", "", "", ""]);
        let Ok(Reserved::Granted { wait, state }) = parse_reserved(&r) else { panic!() };
        assert_eq!(wait, Duration::from_millis(1500));
        assert_eq!(state.dims[0], Some(SharedDim { limit: 60.0, rate: 1.0, level: -2.0 }));
        assert_eq!(state.dims[1], None);
        assert_eq!(state.paused_for, None);
    }

    #[test]
    fn parses_never_fits_and_rejects_garbage() {
        let r = strs(&["never", "3", "4096", "1000"]);
        assert_eq!(
            parse_reserved(&r),
            Ok(Reserved::NeverFits { dim: 3, needed: 4096, limit: 1000 })
        );
        assert!(parse_reserved(&strs(&["never", "9", "1", "1"])).is_err());
        assert!(parse_reserved(&strs(&["ok", "1"])).is_err());
        let mut r = strs(&["ok", "x", "0"]);
        r.extend(std::iter::repeat_n(String::new(), 12));
        assert!(parse_reserved(&r).is_err());
        let mut r = strs(&["ok", "1e300", "5", "1", "nan", "0"]);
        r.extend(std::iter::repeat_n(String::new(), 9));
        assert!(parse_state(&r).is_err(), "a NaN rate is refused");
    }

    #[test]
    fn huge_waits_are_clamped_not_panicking() {
        let mut r = strs(&["ok", "1e300", "5"]);
        r.extend(std::iter::repeat_n(String::new(), 12));
        let (wait, state) = parse_state(&r).unwrap();
        assert_eq!(wait, Duration::from_secs(86_400));
        assert_eq!(state.paused_for, Some(Duration::from_millis(5)));
    }
}
