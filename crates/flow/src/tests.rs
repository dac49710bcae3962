//! Virtual-time tests of the flow table.

use super::*;
use std::net::IpAddr;

fn s(x: u64) -> Duration {
    Duration::from_secs(x)
}

fn key(cport: u16, sport: u16, proto: u8, from_client: bool) -> (FlowKey, FlowKeyDir) {
    let c: IpAddr = "198.18.0.1".parse().unwrap();
    let sv: IpAddr = "198.18.0.2".parse().unwrap();
    if from_client {
        FlowKey::new(c, cport, sv, sport, proto, 0)
    } else {
        FlowKey::new(sv, sport, c, cport, proto, 0)
    }
}

type Table = FlowTable<u32>;

fn tcp(t: &mut Table, now: u64, from_client: bool, flags: u8) -> Tracked {
    let (k, d) = key(40000, 80, 6, from_client);
    t.track(s(now), k, d, Some(flags), 60, |_, _| {})
}

#[test]
fn three_way_handshake_and_close() {
    let mut t = Table::new(FlowConfig::default());
    let a = tcp(&mut t, 0, true, SYN);
    assert!(a.new_flow && a.to_server && !a.established);
    let b = tcp(&mut t, 0, false, SYN | ACK);
    assert!(!b.new_flow && !b.to_server && !b.established);
    assert_eq!(a.flow_id, b.flow_id);
    let c = tcp(&mut t, 0, true, ACK);
    assert!(
        !c.established,
        "the handshake's last ACK is not yet established (Suricata)"
    );
    assert_eq!(t.get(c.handle).unwrap().tcp, TcpState::Established);
    let d = tcp(&mut t, 1, true, ACK | 0x08);
    assert!(d.established && d.to_server);
    let e = tcp(&mut t, 1, false, ACK);
    assert!(e.established && !e.to_server);
    tcp(&mut t, 2, true, FIN | ACK);
    assert_eq!(t.get(e.handle).unwrap().tcp, TcpState::Closing);
    tcp(&mut t, 2, false, FIN | ACK);
    let f = t.get(e.handle).unwrap();
    assert_eq!(f.tcp, TcpState::Closed);
    assert_eq!(f.to_server.pkts, 4);
    assert_eq!(f.to_client.pkts, 3);
    assert_eq!(f.to_server.bytes, 240);
    // A new SYN on the closed tuple starts a new flow.
    let g = tcp(&mut t, 3, true, SYN);
    assert!(g.new_flow);
    assert_ne!(g.flow_id, a.flow_id);
    assert_eq!(t.stats().reused, 1);
}

#[test]
fn rst_closes() {
    let mut t = Table::new(FlowConfig::default());
    tcp(&mut t, 0, true, SYN);
    tcp(&mut t, 0, false, SYN | ACK);
    tcp(&mut t, 0, true, ACK);
    let r = tcp(&mut t, 0, false, RST);
    assert!(r.established);
    assert_eq!(t.get(r.handle).unwrap().tcp, TcpState::Closed);
}

#[test]
fn midstream_pickup() {
    let mut off = Table::new(FlowConfig::default());
    tcp(&mut off, 0, true, ACK);
    let x = tcp(&mut off, 0, false, ACK);
    assert!(!x.established, "no midstream pickup by default");
    let mut on = Table::new(FlowConfig {
        midstream: true,
        ..FlowConfig::default()
    });
    let a = tcp(&mut on, 0, true, ACK);
    assert!(!a.established && a.to_server);
    let b = tcp(&mut on, 0, false, ACK);
    assert!(b.established && !b.to_server);
    // A first SYN/ACK makes its receiver the client.
    let mut on = Table::new(FlowConfig {
        midstream: true,
        ..FlowConfig::default()
    });
    let a = tcp(&mut on, 0, false, SYN | ACK);
    assert!(!a.to_server);
    let b = tcp(&mut on, 0, true, ACK);
    assert!(b.to_server && b.established);
}

#[test]
fn udp_established_when_both_ways() {
    let mut t = Table::new(FlowConfig::default());
    let (k, d) = key(5353, 53, 17, true);
    let a = t.track(s(0), k, d, None, 50, |_, _| {});
    assert!(a.to_server && !a.established);
    let (k2, d2) = key(5353, 53, 17, false);
    let b = t.track(s(1), k2, d2, None, 80, |_, _| {});
    assert!(!b.to_server && b.established);
    assert_eq!(a.flow_id, b.flow_id);
}

#[test]
fn timeouts_with_virtual_time() {
    let mut t = Table::new(FlowConfig::default());
    let (k, d) = key(1, 53, 17, true);
    t.track(s(0), k, d, None, 50, |_, _| {});
    let (k2, d2) = key(2, 53, 17, true);
    t.track(s(20), k2, d2, None, 50, |_, _| {});
    let mut gone = Vec::new();
    assert_eq!(
        t.expire(s(30), |f, r| gone.push((f.key, r))),
        0,
        "30s idle is not past 30s"
    );
    assert_eq!(t.expire(s(31), |f, r| gone.push((f.key, r))), 1);
    assert_eq!(gone, vec![(k, Removal::Expired)]);
    assert_eq!(t.len(), 1);
    assert_eq!(t.expire(s(51), |_, _| {}), 1);
    assert!(t.is_empty());
    assert_eq!(t.stats().expired, 2);
    // A packet after the timeout starts a fresh flow (and expires the old one).
    let a = t.track(s(100), k, d, None, 1, |_, _| {});
    let b = t.track(s(200), k, d, None, 1, |_, r| {
        assert_eq!(r, Removal::Expired)
    });
    assert!(b.new_flow);
    assert_ne!(a.flow_id, b.flow_id);
}

#[test]
fn expire_skips_long_lived_behind_short() {
    let mut t = Table::new(FlowConfig::default());
    // established TCP (600s) is older than a UDP flow (30s)
    tcp(&mut t, 0, true, SYN);
    tcp(&mut t, 0, false, SYN | ACK);
    tcp(&mut t, 0, true, ACK);
    let (k, d) = key(9, 53, 17, true);
    t.track(s(10), k, d, None, 1, |_, _| {});
    assert_eq!(
        t.expire(s(50), |_, _| {}),
        1,
        "the UDP flow behind the TCP one expires"
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t.expire(s(601), |_, _| {}), 1);
}

#[test]
fn bounded_with_lru_eviction() {
    let mut t = Table::new(FlowConfig {
        max_flows: 3,
        ..FlowConfig::default()
    });
    let mut evicted = Vec::new();
    for p in 0..3u16 {
        let (k, d) = key(p, 53, 17, true);
        t.track(s(p as u64), k, d, None, 1, |_, _| {});
    }
    // touch flow 0 so flow 1 becomes the least recently seen
    let (k0, d0) = key(0, 53, 17, true);
    t.track(s(3), k0, d0, None, 1, |_, _| {});
    let (k3, d3) = key(3, 53, 17, true);
    t.track(s(4), k3, d3, None, 1, |f, r| {
        evicted.push((f.key.lo_port.min(f.key.hi_port), r))
    });
    assert_eq!(evicted, vec![(1, Removal::Evicted)]);
    assert_eq!(t.len(), 3);
    assert_eq!(t.stats().evicted, 1);
    assert_eq!(t.stats().created, 4);
    // many more flows never exceed the bound and reuse slots
    for p in 10..1000u16 {
        let (k, d) = key(p, 53, 17, true);
        t.track(s(5), k, d, None, 1, |_, _| {});
        assert!(t.len() <= 3);
    }
    assert!(t.slots.len() <= 3);
    let mut n = 0;
    t.drain(|_, _| n += 1);
    assert_eq!(n, 3);
    assert!(t.is_empty());
}

#[test]
fn user_data_persists_and_ids_unique() {
    let mut t = Table::new(FlowConfig::default());
    let a = tcp(&mut t, 0, true, SYN);
    t.get_mut(a.handle).unwrap().data = 7;
    let b = tcp(&mut t, 0, false, SYN | ACK);
    assert_eq!(t.get(b.handle).unwrap().data, 7);
    let mut ids = std::collections::HashSet::new();
    for n in 1..10_000 {
        let id = mix_id(n);
        assert!(id < (1 << 51) && id != 0);
        ids.insert(id);
    }
    assert_eq!(ids.len(), 9_999);
}
