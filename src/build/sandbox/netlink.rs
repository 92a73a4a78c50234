//! Bringing up the loopback interface of a fresh network namespace (Nix sets `IFF_UP` with the
//! `SIOCSIFFLAGS` ioctl; an `RTM_NEWLINK` request over rtnetlink does the same without
//! `unsafe` code).

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

/// `RTM_NEWLINK`.
const RTM_NEWLINK: u16 = 16;
/// `NLM_F_REQUEST | NLM_F_ACK`.
const FLAGS: u16 = 1 | 4;
/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `IFF_UP`.
const IFF_UP: u32 = 1;
/// The loopback interface is always index 1 in a new network namespace.
const LOOPBACK_INDEX: i32 = 1;

/// The request: `nlmsghdr` then `ifinfomsg`, in native byte order.
fn request() -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    m.extend_from_slice(&FLAGS.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // nlmsg_seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
    m.push(0); // ifi_family = AF_UNSPEC
    m.push(0); // padding
    m.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    m.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    m.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    m.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    m
}

/// Sets the loopback interface up.
pub fn loopback_up() -> Result<(), String> {
    let fail = |e: rustix::io::Errno| format!("cannot set loopback interface flags: {e}");
    let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None).map_err(fail)?;
    rustix::net::send(&fd, &request(), SendFlags::empty()).map_err(fail)?;
    let mut buf = [0u8; 256];
    let (n, _) = rustix::net::recv(&fd, &mut buf, RecvFlags::empty()).map_err(fail)?;
    // The acknowledgement: an `NLMSG_ERROR` message whose error code is 0.
    if n >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == NLMSG_ERROR {
        let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        if code != 0 {
            return Err(fail(rustix::io::Errno::from_raw_os_error(-code)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_an_rtm_newlink_setting_iff_up_on_interface_1() {
        let m = request();
        assert_eq!(m.len(), 32);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_NEWLINK);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(m[24..28].try_into().unwrap()), IFF_UP);
        assert_eq!(u32::from_ne_bytes(m[28..32].try_into().unwrap()), IFF_UP);
    }
}
