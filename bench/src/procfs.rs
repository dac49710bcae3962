//! The few `/proc` figures the harness reads: a process's CPU time and the UDP counters of a
//! namespace. Parsers take the file's text, so they are tested without a kernel.

use anyhow::{bail, Context, Result};

/// CPU time (user + system) of a whole process -- all its threads, which the kernel sums in
/// `/proc/<pid>/stat` -- in seconds.
/// Returns (user + system, user).
pub fn process_cpu_secs(pid: u32) -> Result<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (did the process die?)"))?;
    let (utime, stime) = parse_stat_ticks(&text)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    Ok(((utime + stime) as f64 / hz, utime as f64 / hz))
}

/// utime and stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in clock ticks.
pub fn parse_stat_ticks(text: &str) -> Result<(u64, u64)> {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses:
    // fields are counted after the last ')'.
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .context("no ')' in /proc/<pid>/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is f[0], so field N is f[N - 3].
    if f.len() < 13 {
        bail!("short /proc/<pid>/stat line: {text:?}");
    }
    let utime: u64 = f[11].parse().context("utime")?;
    let stime: u64 = f[12].parse().context("stime")?;
    Ok((utime, stime))
}

/// UDP counters of one namespace (`/proc/net/snmp`, the `Udp:` lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpCounters {
    /// Datagrams delivered to sockets.
    pub in_datagrams: u64,
    /// Datagrams for a port nobody listens on.
    pub no_ports: u64,
    /// Datagrams dropped because the socket's receive buffer was full.
    pub rcvbuf_errors: u64,
}

impl UdpCounters {
    /// Datagrams that got through the network stack up to UDP: delivered, or dropped only
    /// because the receiving program was slower (the contender passed them all).
    pub fn arrived(&self) -> u64 {
        self.in_datagrams + self.rcvbuf_errors
    }
}

/// Parses the `Udp:` header/value line pair of `/proc/net/snmp`.
pub fn parse_snmp_udp(text: &str) -> Result<UdpCounters> {
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        bail!("no Udp: lines in /proc/net/snmp");
    };
    let mut c = UdpCounters::default();
    for (n, v) in names
        .split_whitespace()
        .zip(values.split_whitespace())
        .skip(1)
    {
        let v: u64 = v.parse().with_context(|| format!("Udp {n} = {v:?}"))?;
        match n {
            "InDatagrams" => c.in_datagrams = v,
            "NoPorts" => c.no_ports = v,
            "RcvbufErrors" => c.rcvbuf_errors = v,
            _ => {}
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_after_odd_comm() {
        let line = "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 \
                    99 1000 10 18446744073709551615";
        assert_eq!(parse_stat_ticks(line).unwrap(), (250, 75));
        assert!(parse_stat_ticks("1 (x) S 1 2").is_err());
        assert!(parse_stat_ticks("no paren").is_err());
    }

    #[test]
    fn snmp_udp_lines() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
            Udp: 1000 3 7 10 5 0\nUdpLite: InDatagrams\nUdpLite: 0\n";
        let c = parse_snmp_udp(text).unwrap();
        assert_eq!(
            c,
            UdpCounters {
                in_datagrams: 1000,
                no_ports: 3,
                rcvbuf_errors: 5
            }
        );
        assert_eq!(c.arrived(), 1005);
        assert!(parse_snmp_udp("Ip: a\nIp: 1\n").is_err());
    }
}
