//! Several `kms serve --store postgres` processes on one database, driven over KMIP (mutual TLS): a key created
//! through one server is got, used and destroyed through the other; eight clients modifying one key's attributes
//! through both lose no update; a server killed mid-load loses no acknowledged write; a database restart gives
//! failures the clients can retry, and the servers recover without being restarted.
#![cfg(all(feature = "cli", feature = "kmip", feature = "postgres"))]
#![allow(clippy::unwrap_used)]

mod postgres_support;
mod support;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kms::kmip::message::enums::{ResultReason, RevocationReasonCode};
use kms::kmip::message::operations::access::{
    AddAttributeRequest, GetAttributesRequest, GetRequest, LocateRequest,
};
use kms::kmip::message::operations::crypto::{DecryptRequest, EncryptRequest};
use kms::kmip::message::operations::lifecycle::RevokeRequest;
use kms::kmip::message::types::RevocationReason;
use kms::kmip::message::{
    Attribute, Attributes, IndexedAttribute, RequestPayload, ResponsePayload, SecretBytes,
};
use postgres_support::{
    Client, Cluster, Deployment, Failure, LIVENESS, drop_schema, identifier, name_attribute,
    shared_url,
};

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIVENESS, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn names_of(client: &mut Client, id: &str) -> HashSet<String> {
    let ResponsePayload::GetAttributes(a) = client
        .call(RequestPayload::GetAttributes(GetAttributesRequest {
            unique_identifier: Some(id.into()),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!("unexpected response")
    };
    a.attributes
        .unwrap()
        .attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::Name(n) => Some(n.name_value.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn key_created_through_one_server_is_got_used_and_destroyed_through_the_other() {
    let d = Deployment::new(shared_url());
    let a_server = d.start(0);
    // The second server reaches the database over TLS, verified against the server's CA.
    let ca = std::env::var("KMS_TEST_POSTGRES_CA").unwrap_or_else(|_| {
        panic!("KMS_TEST_POSTGRES_CA is not set: run ./scripts/test (or set it to the database server's CA)")
    });
    let b_server = d.start_with(1, &["--database-ca-file", &ca]);
    let mut a = Client::new(&a_server.kmip, d.tls());
    let mut b = Client::new(&b_server.kmip, d.tls());

    let id = a.create_aes(Some("shared-key")).unwrap();
    b.call(RequestPayload::Activate(identifier(&id))).unwrap();
    // Got through the other server: the same key bytes from both.
    let key_of = |c: &mut Client| {
        let ResponsePayload::Get(g) = c
            .call(RequestPayload::Get(GetRequest {
                unique_identifier: Some(id.as_str().into()),
                ..Default::default()
            }))
            .unwrap()
        else {
            panic!("unexpected response")
        };
        format!("{:?}", g.object)
    };
    assert_eq!(key_of(&mut a), key_of(&mut b));
    // Located through the other server by name.
    let ResponsePayload::Locate(l) = b
        .call(RequestPayload::Locate(LocateRequest {
            attributes: Some(Attributes::new(vec![name_attribute("shared-key")])),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!("unexpected response")
    };
    assert_eq!(
        l.unique_identifiers
            .iter()
            .map(postgres_support::id_of)
            .collect::<Vec<_>>(),
        vec![id.clone()]
    );
    // Used: encrypted through A, decrypted through B.
    let ResponsePayload::Encrypt(e) = a
        .call(RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: Some(id.as_str().into()),
            data: Some(SecretBytes::new(b"across servers".to_vec())),
            authenticated_encryption_additional_data: Some(Vec::new()),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!("unexpected response")
    };
    let ResponsePayload::Decrypt(p) = b
        .call(RequestPayload::Decrypt(DecryptRequest {
            unique_identifier: Some(id.as_str().into()),
            data: e.data.clone(),
            iv_counter_nonce: e.iv_counter_nonce.clone(),
            authenticated_encryption_tag: e.authenticated_encryption_tag.clone(),
            authenticated_encryption_additional_data: Some(Vec::new()),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!("unexpected response")
    };
    assert_eq!(p.data.unwrap().expose(), b"across servers");
    // Revoked through A, destroyed through B; then A can no longer get or use it.
    a.call(RequestPayload::Revoke(RevokeRequest {
        unique_identifier: Some(id.as_str().into()),
        revocation_reason: RevocationReason {
            revocation_reason_code: RevocationReasonCode::CESSATION_OF_OPERATION,
            ..Default::default()
        },
        ..Default::default()
    }))
    .unwrap();
    b.call(RequestPayload::Destroy(identifier(&id))).unwrap();
    let got = a.call(RequestPayload::Get(GetRequest {
        unique_identifier: Some(id.as_str().into()),
        ..Default::default()
    }));
    assert!(
        matches!(got, Err(Failure::Kmip(Some(r), _)) if r == ResultReason::OBJECT_DESTROYED),
        "{got:?}"
    );
    let used = a.call(RequestPayload::Encrypt(EncryptRequest {
        unique_identifier: Some(id.as_str().into()),
        data: Some(SecretBytes::new(b"x".to_vec())),
        ..Default::default()
    }));
    assert!(matches!(used, Err(Failure::Kmip(..))), "{used:?}");
    drop_schema(&d.url, &d.schema);
}

#[test]
fn eight_clients_modifying_one_key_through_two_servers_lose_no_update() {
    const CLIENTS: usize = 8;
    const EACH: usize = 7;
    let d = Deployment::new(shared_url());
    let servers = [d.start(0), d.start(1)];
    let id = Client::new(&servers[0].kmip, d.tls())
        .create_aes(None)
        .unwrap();
    let acknowledged = Mutex::new(HashSet::new());
    let retried = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let (d, servers, id, acknowledged, retried) =
                (&d, &servers, &id, &acknowledged, &retried);
            s.spawn(move || {
                let mut client = Client::new(&servers[c % 2].kmip, d.tls());
                for i in 0..EACH {
                    let name = format!("client{c}-name{i}");
                    // A real client retries what the server says may succeed again (a concurrent update won
                    // more often than the server retries); anything else fails the test.
                    for attempt in 0.. {
                        match client.call(RequestPayload::AddAttribute(AddAttributeRequest {
                            unique_identifier: Some(id.as_str().into()),
                            attribute: IndexedAttribute {
                                attribute: name_attribute(&name),
                                index: None,
                            },
                            ..Default::default()
                        })) {
                            Ok(_) => break,
                            Err(Failure::Kmip(Some(r), _))
                                if r == ResultReason::GENERAL_FAILURE && attempt < 20 =>
                            {
                                retried.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    acknowledged.lock().unwrap().insert(name);
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert_eq!(acknowledged.len(), CLIENTS * EACH);
    for server in &servers {
        let names = names_of(&mut Client::new(&server.kmip, d.tls()), &id);
        assert_eq!(
            names, acknowledged,
            "every acknowledged Add Attribute is there"
        );
    }
    println!(
        "{} additions, {} client retries after the servers' own retries ran out",
        CLIENTS * EACH,
        retried.load(Ordering::Relaxed)
    );
    drop_schema(&d.url, &d.schema);
}

#[test]
fn killing_one_server_mid_load_loses_no_acknowledged_write() {
    let d = Deployment::new(shared_url());
    let mut victim = d.start(0);
    let survivor = d.start(1);
    let victim_addr = victim.kmip.clone();
    let acknowledged = Mutex::new(Vec::new());
    let on_victim = AtomicUsize::new(0);
    let killed = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for c in 0..8 {
            let (d, acknowledged, on_victim, killed, stop) =
                (&d, &acknowledged, &on_victim, &killed, &stop);
            let (victim_addr, survivor_addr) = (&victim_addr, &survivor.kmip);
            s.spawn(move || {
                let mut client = Client::new(
                    if c % 2 == 0 {
                        victim_addr
                    } else {
                        survivor_addr
                    },
                    d.tls(),
                );
                let mut failed_over = c % 2 == 1;
                let mut i = 0;
                while !stop.load(Ordering::Acquire) {
                    i += 1;
                    match client.create_aes(Some(&format!("c{c}-{i}"))) {
                        Ok(id) => {
                            if !failed_over {
                                on_victim.fetch_add(1, Ordering::Relaxed);
                            }
                            acknowledged.lock().unwrap().push((format!("c{c}-{i}"), id));
                        }
                        // The killed server's clients see the connection go, then fail over.
                        Err(Failure::Transport(_)) if killed.load(Ordering::Acquire) => {
                            client = Client::new(survivor_addr, d.tls());
                            failed_over = true;
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
            });
        }
        wait_for("writes through the server to be killed", || {
            on_victim.load(Ordering::Relaxed) >= 40
        });
        killed.store(true, Ordering::Release);
        victim.kill();
        let at_kill = acknowledged.lock().unwrap().len();
        wait_for("writes after the kill", || {
            acknowledged.lock().unwrap().len() >= at_kill + 40
        });
        stop.store(true, Ordering::Release);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    let mut client = Client::new(&survivor.kmip, d.tls());
    for (name, id) in &acknowledged {
        assert_eq!(
            names_of(&mut client, id),
            HashSet::from([name.clone()]),
            "{id}"
        );
    }
    // And a restarted node serves them too.
    let restarted = d.start(0);
    let mut client = Client::new(&restarted.kmip, d.tls());
    let ResponsePayload::Locate(l) = client
        .call(RequestPayload::Locate(LocateRequest::default()))
        .unwrap()
    else {
        panic!("unexpected response")
    };
    let located: HashSet<String> = l
        .unique_identifiers
        .iter()
        .map(postgres_support::id_of)
        .collect();
    for (_, id) in &acknowledged {
        assert!(located.contains(id), "{id}");
    }
    println!(
        "{} acknowledged creates ({} through the killed server) all present",
        acknowledged.len(),
        on_victim.load(Ordering::Relaxed)
    );
    drop_schema(&d.url, &d.schema);
}

#[test]
fn database_restart_mid_load_gives_retryable_failures_and_servers_recover_by_themselves() {
    let cluster = Cluster::start();
    let d = Deployment::new(cluster.url());
    let servers = [d.start(0), d.start(1)];
    let acknowledged = Mutex::new(Vec::new());
    let failures = AtomicUsize::new(0);
    let after_restart = AtomicUsize::new(0);
    let restarted = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for c in 0..8 {
            let (d, servers, acknowledged, failures, after_restart, restarted, stop) = (
                &d,
                &servers,
                &acknowledged,
                &failures,
                &after_restart,
                &restarted,
                &stop,
            );
            s.spawn(move || {
                let mut client = Client::new(&servers[c % 2].kmip, d.tls());
                while !stop.load(Ordering::Acquire) {
                    match client.create_aes(None) {
                        Ok(id) => {
                            if restarted.load(Ordering::Acquire) {
                                after_restart.fetch_add(1, Ordering::Relaxed);
                            }
                            acknowledged.lock().unwrap().push(id);
                        }
                        // The server stays up and answers: a KMIP General Failure whose message tells the
                        // client that retrying may succeed.
                        Err(Failure::Kmip(Some(r), message))
                            if r == ResultReason::GENERAL_FAILURE =>
                        {
                            assert!(
                                message.contains("retry"),
                                "not a retryable answer: {message}"
                            );
                            failures.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
            });
        }
        wait_for("load before the restart", || {
            acknowledged.lock().unwrap().len() >= 50
        });
        cluster.stop_server();
        wait_for("failures while the database is down", || {
            failures.load(Ordering::Relaxed) >= 16
        });
        cluster.start_server();
        restarted.store(true, Ordering::Release);
        // Recovery through both servers, neither restarted.
        wait_for("recovery", || after_restart.load(Ordering::Relaxed) >= 50);
        stop.store(true, Ordering::Release);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    for server in &servers {
        let mut client = Client::new(&server.kmip, d.tls());
        for id in &acknowledged {
            client
                .call(RequestPayload::GetAttributes(GetAttributesRequest {
                    unique_identifier: Some(id.as_str().into()),
                    ..Default::default()
                }))
                .unwrap();
        }
    }
    println!(
        "{} acknowledged creates, {} retryable failures while the database restarted",
        acknowledged.len(),
        failures.load(Ordering::Relaxed)
    );
}
