//! The `xbits` and `hostbits` keywords: parsed once into an [`XbitCmd`], checked and applied
//! against the thread's [`HostBits`] store.
//!
//! Syntax (Suricata's):
//! - `xbits:<set|unset|toggle|isset|isnotset>,<name>,track <ip_src|ip_dst|ip_pair>[,expire
//!   <seconds>]`; `expire` (1 to 2^32-1, default 30) only matters to `set` and `toggle`;
//!   `xbits:noalert` (optionally with a `track`) is `noalert`. `track tx` (Suricata 8's bits
//!   per app-layer transaction) is reported as unsupported.
//! - `hostbits:<set|unset|toggle|isset|isnotset>,<name>[,<src|dst>]` (default `src`), bits
//!   that expire 300 seconds after they are set; `hostbits:noalert`. `both` is rejected, as
//!   Suricata rejects it. Spaces around the parts are allowed.
//!
//! `hostbits` and `xbits` with `track ip_src|ip_dst` share their bits (Suricata: "no difference
//! between using hostbits and xbits with track ip_<src|dst>").
//!
//! Semantics (Suricata's): checks (`isset`, `isnotset`) are part of the match; changes (`set`,
//! `unset`, `toggle`) happen only once the whole rule matched. They need no flow: they work on
//! every packet, flow or not.

use std::net::IpAddr;
use std::sync::Arc;

use crate::hostbits::{BitKey, HostBits};

/// Suricata's default `xbits` expiry, in seconds.
pub(crate) const XBITS_EXPIRE_DEFAULT: u32 = 30;
/// The expiry of bits set with `hostbits` (fixed in Suricata), in seconds.
pub(crate) const HOSTBITS_EXPIRE: u32 = 300;

/// Where a bit is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XbitTrack {
    /// The packet's source host.
    Src,
    /// The packet's destination host.
    Dst,
    /// The (unordered) pair of the packet's hosts.
    Pair,
}

impl XbitTrack {
    fn key(self, src: IpAddr, dst: IpAddr) -> BitKey {
        match self {
            XbitTrack::Src => BitKey::Host(src),
            XbitTrack::Dst => BitKey::Host(dst),
            XbitTrack::Pair => BitKey::pair(src, dst),
        }
    }
}

/// The operation of an `xbits`/`hostbits` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XbitOp {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

/// One parsed `xbits` or `hostbits` keyword (other than `noalert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XbitCmd {
    pub op: XbitOp,
    pub name: Arc<str>,
    pub track: XbitTrack,
    /// Seconds a bit set by this keyword lives.
    pub expire: u32,
}

/// What parsing an `xbits`/`hostbits` value gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A bit operation.
    Cmd(XbitCmd),
    /// `noalert`.
    NoAlert,
    /// Valid Suricata that Verdict does not implement (the reason).
    Unsupported(String),
}

impl XbitCmd {
    /// True for `set`, `unset`, `toggle`.
    pub fn is_set_like(&self) -> bool {
        matches!(self.op, XbitOp::Set | XbitOp::Unset | XbitOp::Toggle)
    }

    /// Parses the value of `xbits:`.
    pub fn parse_xbits(v: &str) -> Result<Parsed, String> {
        let mut parts = v.split(',').map(str::trim);
        let cmd = parts.next().unwrap_or("");
        let op = parse_op(cmd, "xbits")?;
        let mut name = None;
        let mut track = None;
        let mut expire = None;
        for part in parts {
            if let Some(t) = word_value(part, "track") {
                if track.is_some() {
                    return Err("xbits: `track` given twice".into());
                }
                track = Some(match t {
                    "ip_src" => XbitTrack::Src,
                    "ip_dst" => XbitTrack::Dst,
                    "ip_pair" => XbitTrack::Pair,
                    "tx" => {
                        return Ok(Parsed::Unsupported(
                            "xbits with `track tx` (bits per app-layer transaction) are not \
                             implemented; the rule is skipped"
                                .into(),
                        ))
                    }
                    other => {
                        return Err(format!(
                            "xbits: unknown track `{other}` (ip_src, ip_dst, ip_pair)"
                        ))
                    }
                });
            } else if let Some(e) = word_value(part, "expire") {
                if track.is_none() {
                    return Err("xbits: `expire` must follow `track`".into());
                }
                if expire.is_some() {
                    return Err("xbits: `expire` given twice".into());
                }
                expire = Some(match e.parse::<u32>() {
                    Ok(0) => return Err("xbits: expire must be bigger than 0".into()),
                    Ok(n) => n,
                    Err(_) => {
                        return Err(format!(
                            "xbits: bad expire `{e}` (seconds, 1 to {})",
                            u32::MAX
                        ))
                    }
                });
            } else if name.is_none() && track.is_none() && !part.is_empty() {
                name = Some(part);
            } else {
                return Err(format!(
                    "xbits: unexpected `{part}` (expected <cmd>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <seconds>])"
                ));
            }
        }
        let Some(op) = op else {
            // `noalert`: no name (Suricata's regex allows a `track` after it).
            return match name {
                None => Ok(Parsed::NoAlert),
                Some(_) => Err("xbits:noalert takes no name".into()),
            };
        };
        let name =
            name.ok_or("xbits needs a name: xbits:<cmd>,<name>,track <ip_src|ip_dst|ip_pair>")?;
        let track = track.ok_or("xbits needs `track ip_src`, `track ip_dst` or `track ip_pair`")?;
        Ok(Parsed::Cmd(XbitCmd {
            op,
            name: Arc::from(name),
            track,
            expire: expire.unwrap_or(XBITS_EXPIRE_DEFAULT),
        }))
    }

    /// Parses the value of `hostbits:`.
    pub fn parse_hostbits(v: &str) -> Result<Parsed, String> {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() > 3 {
            return Err("hostbits: too many parts (hostbits:<cmd>,<name>[,<src|dst>])".into());
        }
        let op = parse_op(parts.first().copied().unwrap_or(""), "hostbits")?;
        let name = parts.get(1).copied();
        if name.is_some_and(|n| n.is_empty() || n.contains(char::is_whitespace)) {
            return Err("hostbits: bad name (no spaces or commas)".into());
        }
        let track = match parts.get(2).copied() {
            None | Some("src") => XbitTrack::Src,
            Some("dst") => XbitTrack::Dst,
            Some("both") => {
                return Err("hostbits: direction `both` is not implemented in Suricata".into())
            }
            Some(other) => return Err(format!("hostbits: unknown direction `{other}` (src, dst)")),
        };
        let Some(op) = op else {
            return match name {
                None => Ok(Parsed::NoAlert),
                Some(_) => Err("hostbits:noalert takes no name".into()),
            };
        };
        let name = name.ok_or("hostbits needs a name: hostbits:<cmd>,<name>[,<src|dst>]")?;
        Ok(Parsed::Cmd(XbitCmd {
            op,
            name: Arc::from(name),
            track,
            expire: HOSTBITS_EXPIRE,
        }))
    }

    /// The check of an `isset`/`isnotset` keyword on a packet from `src` to `dst` (`true` for
    /// changes, which do not take part in matching).
    pub fn check(&self, bits: &HostBits, src: IpAddr, dst: IpAddr, now_secs: u64) -> bool {
        let key = self.track.key(src, dst);
        match self.op {
            XbitOp::IsSet => bits.is_set(key, &self.name, now_secs),
            XbitOp::IsNotSet => !bits.is_set(key, &self.name, now_secs),
            _ => true,
        }
    }

    /// Applies a `set`/`unset`/`toggle` (after the rule matched); checks do nothing.
    pub fn apply(&self, bits: &mut HostBits, src: IpAddr, dst: IpAddr, now_secs: u64) {
        let key = self.track.key(src, dst);
        match self.op {
            XbitOp::Set => bits.set(key, &self.name, self.expire, now_secs),
            XbitOp::Unset => bits.unset(key, &self.name),
            XbitOp::Toggle => bits.toggle(key, &self.name, self.expire, now_secs),
            XbitOp::IsSet | XbitOp::IsNotSet => {}
        }
    }
}

/// The operation named `cmd` (`None` for `noalert`).
fn parse_op(cmd: &str, kw: &str) -> Result<Option<XbitOp>, String> {
    Ok(Some(match cmd {
        "set" => XbitOp::Set,
        "unset" => XbitOp::Unset,
        "toggle" => XbitOp::Toggle,
        "isset" => XbitOp::IsSet,
        "isnotset" => XbitOp::IsNotSet,
        "noalert" => return Ok(None),
        "" => return Err(format!("{kw} needs a command")),
        other => {
            return Err(format!(
                "unknown {kw} command `{other}` (set, unset, toggle, isset, isnotset, noalert)"
            ))
        }
    }))
}

/// `word VALUE` (one or more spaces between) -> `VALUE`.
fn word_value<'a>(part: &'a str, word: &str) -> Option<&'a str> {
    let rest = part.strip_prefix(word)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let v = rest.trim();
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(p: Result<Parsed, String>) -> XbitCmd {
        match p {
            Ok(Parsed::Cmd(c)) => c,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn xbits_forms() {
        let c = cmd(XbitCmd::parse_xbits("set,ET.x,track ip_pair"));
        assert_eq!(
            (c.op, &*c.name, c.track, c.expire),
            (XbitOp::Set, "ET.x", XbitTrack::Pair, 30)
        );
        let c = cmd(XbitCmd::parse_xbits(
            "set, ET.PROPFIND, track ip_src, expire 360",
        ));
        assert_eq!(
            (c.op, &*c.name, c.track, c.expire),
            (XbitOp::Set, "ET.PROPFIND", XbitTrack::Src, 360)
        );
        let c = cmd(XbitCmd::parse_xbits("isset,a,track  ip_dst,expire 10"));
        assert_eq!(
            (c.op, c.track, c.expire),
            (XbitOp::IsSet, XbitTrack::Dst, 10)
        );
        for (s, op) in [
            ("unset", XbitOp::Unset),
            ("toggle", XbitOp::Toggle),
            ("isnotset", XbitOp::IsNotSet),
        ] {
            assert_eq!(
                cmd(XbitCmd::parse_xbits(&format!("{s},n,track ip_src"))).op,
                op
            );
        }
        assert_eq!(XbitCmd::parse_xbits("noalert"), Ok(Parsed::NoAlert));
        assert_eq!(
            XbitCmd::parse_xbits("noalert,track ip_src"),
            Ok(Parsed::NoAlert)
        );
        assert!(matches!(
            XbitCmd::parse_xbits("set,n,track tx"),
            Ok(Parsed::Unsupported(_))
        ));
        assert_eq!(
            cmd(XbitCmd::parse_xbits("set,n,track ip_src,expire 4294967295")).expire,
            u32::MAX
        );
    }

    #[test]
    fn xbits_bad_values() {
        for bad in [
            "",
            "alert",
            "n0alert",
            "set",
            "set,abc",
            "set,abc,track nonsense,expire 3600",
            "set,abc,track ip_source,expire 3600",
            "set,abc,track ip_src,expire -1",
            "set,abc,track ip_src,expire 0",
            "set,abc,track ip_src,expire 4294967296",
            "set,abc,track ip_src,expire",
            "set,abc,track ip_src,expire 10,expire 20",
            "set,abc,track ip_src,track ip_dst",
            "set,abc,expire 10,track ip_src",
            "set,abc,def,track ip_src",
            "set,abc,track ip_src,junk",
            "set,abc,trackip_src",
            "noalert,abc,track ip_src",
            ",,,,",
        ] {
            assert!(
                XbitCmd::parse_xbits(bad).is_err(),
                "`{bad}` should be invalid"
            );
        }
    }

    #[test]
    fn hostbits_forms() {
        let c = cmd(XbitCmd::parse_hostbits("set,bad"));
        assert_eq!(
            (c.op, &*c.name, c.track, c.expire),
            (XbitOp::Set, "bad", XbitTrack::Src, 300)
        );
        let c = cmd(XbitCmd::parse_hostbits("isset, name , dst "));
        assert_eq!(
            (c.op, &*c.name, c.track),
            (XbitOp::IsSet, "name", XbitTrack::Dst)
        );
        assert_eq!(
            cmd(XbitCmd::parse_hostbits("toggle,n,src")).track,
            XbitTrack::Src
        );
        assert_eq!(XbitCmd::parse_hostbits("noalert"), Ok(Parsed::NoAlert));
        for bad in [
            "",
            "set",
            "set,",
            "set,a b",
            "set,n,both",
            "set,n,ip_src",
            "set,n,src,300",
            "noalert,n",
            "frob,n",
        ] {
            assert!(
                XbitCmd::parse_hostbits(bad).is_err(),
                "`{bad}` should be invalid"
            );
        }
    }

    #[test]
    fn check_and_apply_per_track() {
        let mut hb = HostBits::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let set = |t| XbitCmd {
            op: XbitOp::Set,
            name: Arc::from("n"),
            track: t,
            expire: 10,
        };
        let isset = |t| XbitCmd {
            op: XbitOp::IsSet,
            ..set(t)
        };
        let isnotset = |t| XbitCmd {
            op: XbitOp::IsNotSet,
            ..set(t)
        };
        // ip_dst set on a -> b is ip_src on the reply b -> a.
        set(XbitTrack::Dst).apply(&mut hb, a, b, 0);
        assert!(isset(XbitTrack::Src).check(&hb, b, a, 0));
        assert!(!isset(XbitTrack::Src).check(&hb, a, b, 0));
        assert!(isnotset(XbitTrack::Dst).check(&hb, b, a, 0));
        // ip_pair: either direction.
        set(XbitTrack::Pair).apply(&mut hb, a, b, 0);
        assert!(isset(XbitTrack::Pair).check(&hb, b, a, 5));
        assert!(!isset(XbitTrack::Pair).check(&hb, b, a, 11));
        assert!(isnotset(XbitTrack::Pair).check(&hb, a, b, 11));
        // Checks never change the store; changes never fail a match.
        assert!(set(XbitTrack::Src).check(&hb, a, b, 0));
        isset(XbitTrack::Src).apply(&mut hb, a, b, 0);
        assert!(!isset(XbitTrack::Src).check(&hb, a, b, 0));
    }
}
