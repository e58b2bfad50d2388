//! `kms escrow`: run key escrow from the command line, with keys as PEM files and requests, approvals and
//! releases as JSON files.
//!
//! A typical flow, each step on the machine of the person doing it:
//!
//! ```text
//! kms escrow keygen --out sec-enc            # each agent: one pair for shares, one for approvals
//! kms escrow keygen --out sec-sig
//! kms escrow agent add --id sec-1 --name "Sam" --role security --encryption-key sec-enc.pub.pem --approval-key sec-sig.pub.pem
//! kms escrow deposit --material key.bin --object-id backup-key --algorithm AES-256 --agents sec-1,legal-1,cfo --threshold 2 --require-role legal=1
//! kms escrow request --deposit ID --requester bob --recipient-key bob.pub.pem --purpose legal-hold --justification "..." --out req.json
//! kms escrow approve --request req.json --agent-id sec-1 --decryption-key sec-enc.key.pem --signing-key sec-sig.key.pem --out a1.json
//! kms escrow release --request-id ID --approval a1.json --approval a2.json --actor bob --out release.json
//! kms escrow open --release release.json --recipient-key bob.key.pem --out key.bin
//! kms escrow audit verify
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kms_escrow::files::{self, EscrowDir};
use kms_escrow::zeroize::Zeroizing;
use kms_escrow::{
    Agent, AgentCredentials, AgentDecryptionKey, AgentEncryptionKey, AgentId, AgentStatus,
    Approval, ApprovalKey, AuditHead, Denial, DepositId, Escrow, EscrowPolicy, EscrowedKeyMetadata,
    RecipientKey, ReleasePackage, ReleaseRequestPackage, RequestId, Role, SystemClock,
};

/// `kms escrow` options and subcommands.
#[derive(Debug, Args)]
pub struct EscrowArgs {
    /// Data directory (escrow keeps `escrow/escrow.redb` and `escrow/service-key.pem` there).
    #[arg(
        long,
        env = "KMS_DATA_DIR",
        default_value = "./kms-data",
        global = true
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: EscrowCommand,
}

/// `kms escrow` subcommands.
#[derive(Debug, Subcommand)]
enum EscrowCommand {
    /// Generate a P-256 key pair: NAME.key.pem (PKCS#8, mode 0600) and NAME.pub.pem.
    Keygen {
        /// Path prefix of the two files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage escrow agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Escrow key material (a raw key file) under an m-of-n policy; prints the deposit id.
    Deposit(DepositArgs),
    /// List deposits.
    Deposits,
    /// Open a release request and write the package agents decide on.
    Request {
        /// Deposit to release.
        #[arg(long)]
        deposit: String,
        /// Who asks (never allowed to approve).
        #[arg(long)]
        requester: String,
        /// The recipient's P-256 public key (PEM).
        #[arg(long)]
        recipient_key: PathBuf,
        /// Stated purpose.
        #[arg(long)]
        purpose: String,
        /// Justification shown to every agent.
        #[arg(long)]
        justification: String,
        /// Where to write the request package (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// List requests and their status.
    Requests,
    /// Agent side, offline: approve a request package with the agent's own keys.
    Approve {
        /// Request package (JSON) from `kms escrow request`.
        #[arg(long)]
        request: PathBuf,
        /// The approving agent.
        #[arg(long)]
        agent_id: String,
        /// The agent's share decryption key (PKCS#8 PEM, P-256 or RSA).
        #[arg(long)]
        decryption_key: PathBuf,
        /// The agent's approval signing key (PKCS#8 PEM, P-256).
        #[arg(long)]
        signing_key: PathBuf,
        /// Where to write the signed approval (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Agent side, offline: deny a request package, signed with the agent's key.
    Deny {
        /// Request package (JSON).
        #[arg(long)]
        request: PathBuf,
        /// The denying agent.
        #[arg(long)]
        agent_id: String,
        /// The agent's approval signing key (PKCS#8 PEM, P-256).
        #[arg(long)]
        signing_key: PathBuf,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Where to write the signed denial (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Record signed approvals or denials (JSON files from `approve` / `deny`).
    Submit {
        /// Approval or denial files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Record the given approvals, check the policy and write the release package for the recipient.
    Release {
        /// The request.
        #[arg(long)]
        request_id: String,
        /// Approval files to record first.
        #[arg(long)]
        approval: Vec<PathBuf>,
        /// Who performs the release.
        #[arg(long)]
        actor: String,
        /// Where to write the release package (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Recipient side, offline: open a release package and write the key material.
    Open {
        /// Release package (JSON).
        #[arg(long)]
        release: PathBuf,
        /// The recipient's private key (PKCS#8 PEM).
        #[arg(long)]
        recipient_key: PathBuf,
        /// Where to write the key material (raw bytes, mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    /// Close pending requests whose time has run out.
    Expire,
    /// Audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `kms escrow agent` subcommands.
#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Add an agent.
    Add {
        /// Identifier (letters, digits, . _ - @ :).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role (security, legal, management, ...).
        #[arg(long)]
        role: String,
        /// Public key shares are encrypted to (PEM: P-256 for HPKE, RSA 2048-8192 for OAEP).
        #[arg(long)]
        encryption_key: PathBuf,
        /// Public key verifying the agent's approvals (PEM, P-256).
        #[arg(long)]
        approval_key: PathBuf,
        /// Who adds the agent (audit actor).
        #[arg(long, default_value = "escrow-admin")]
        actor: String,
    },
    /// List agents.
    List,
    /// Retire an agent: its approvals no longer count.
    Retire {
        /// The agent.
        #[arg(long)]
        id: String,
        /// Who retires it.
        #[arg(long, default_value = "escrow-admin")]
        actor: String,
    },
}

/// `kms escrow deposit` options.
#[derive(Debug, Args)]
struct DepositArgs {
    /// Raw key material file.
    #[arg(long)]
    material: PathBuf,
    /// The managed object's id.
    #[arg(long)]
    object_id: String,
    /// KMIP object type.
    #[arg(long, default_value = "SymmetricKey")]
    object_type: String,
    /// Algorithm and length.
    #[arg(long)]
    algorithm: String,
    /// The key is a signing private key (needs --allow-signing-keys).
    #[arg(long)]
    signing_key: bool,
    /// Who deposits.
    #[arg(long, default_value = "escrow-admin")]
    depositor: String,
    /// Escrow agents, comma-separated, in share order.
    #[arg(long, value_delimiter = ',', required = true)]
    agents: Vec<String>,
    /// Approvals needed.
    #[arg(long)]
    threshold: u8,
    /// Role that must approve, as ROLE=COUNT (repeatable).
    #[arg(long)]
    require_role: Vec<String>,
    /// Approval validity in seconds.
    #[arg(long, default_value_t = 24 * 3600)]
    approval_validity: u64,
    /// Request validity in seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    request_validity: u64,
    /// Waiting period in seconds.
    #[arg(long, default_value_t = 0)]
    waiting_period: u64,
    /// Allowed purpose (repeatable; none means any stated purpose).
    #[arg(long)]
    purpose: Vec<String>,
    /// Allow escrowing signing private keys.
    #[arg(long)]
    allow_signing_keys: bool,
    /// One denial closes a request.
    #[arg(long)]
    denial_vetoes: bool,
}

/// `kms escrow audit` subcommands.
#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the stored log (or an exported one) against the service key, its signed head and an anchor.
    Verify {
        /// Exported JSON-lines log instead of the stored one (needs --head).
        #[arg(long, requires = "head")]
        log: Option<PathBuf>,
        /// Signed head of the exported log.
        #[arg(long)]
        head: Option<PathBuf>,
        /// A head exported earlier and kept elsewhere.
        #[arg(long)]
        anchor: Option<PathBuf>,
        /// Trusted copy of the service public key (PEM) instead of the one in the data directory.
        #[arg(long)]
        service_key: Option<PathBuf>,
    },
    /// Export the log (JSON lines) and its signed head (JSON, usable later as --anchor).
    Export {
        /// Log file.
        #[arg(long)]
        out: PathBuf,
        /// Head file.
        #[arg(long)]
        head_out: PathBuf,
    },
    /// Write the service public key (PEM) for verifiers.
    ServiceKey {
        /// Where.
        #[arg(long)]
        out: PathBuf,
    },
}

fn open(args_dir: &Path) -> anyhow::Result<Escrow> {
    EscrowDir::new(args_dir)
        .open(Arc::new(SystemClock))
        .with_context(|| format!("opening escrow in {}", args_dir.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    files::read_text(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs a `kms escrow` subcommand.
pub fn run(args: EscrowArgs) -> anyhow::Result<()> {
    let dir = args.data_dir.as_path();
    match args.command {
        EscrowCommand::Keygen { out } => {
            let (sk, pk) = files::generate_p256_pem()?;
            let stem = out.to_string_lossy();
            let (kp, pp) = (
                PathBuf::from(format!("{stem}.key.pem")),
                PathBuf::from(format!("{stem}.pub.pem")),
            );
            files::write_secret(&kp, sk.as_bytes())?;
            files::write_atomic(&pp, pk.as_bytes(), false)?;
            println!("{} {}", kp.display(), pp.display());
        }
        EscrowCommand::Agent(AgentCommand::Add {
            id,
            name,
            role,
            encryption_key,
            approval_key,
            actor,
        }) => {
            let agent = Agent::new(
                AgentId::new(id)?,
                name,
                Role::new(role)?,
                AgentEncryptionKey::from_public_key_pem(&read(&encryption_key)?)?,
                ApprovalKey::from_public_key_pem(&read(&approval_key)?)?,
            )?;
            let fp = agent.encryption_key.fingerprint()?;
            open(dir)?.add_agent(&actor, agent)?;
            println!("agent added; encryption key sha256:{fp}");
        }
        EscrowCommand::Agent(AgentCommand::List) => {
            for a in open(dir)?.agents()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\tsha256:{}",
                    a.id,
                    a.role,
                    if a.is_active() { "active" } else { "retired" },
                    a.display_name,
                    a.encryption_key.scheme(),
                    a.encryption_key.fingerprint()?
                );
            }
        }
        EscrowCommand::Agent(AgentCommand::Retire { id, actor }) => {
            open(dir)?.set_agent_status(&actor, &AgentId::new(id)?, AgentStatus::Retired)?;
        }
        EscrowCommand::Deposit(d) => deposit(dir, d)?,
        EscrowCommand::Deposits => {
            let escrow = open(dir)?;
            for d in escrow.deposits()? {
                let agents: Vec<&str> = d.policy.agents.iter().map(AgentId::as_str).collect();
                println!(
                    "{}\t{}\t{}\t{}-of-{}\t{}",
                    d.id,
                    d.metadata.object_id,
                    d.metadata.algorithm,
                    d.policy.threshold,
                    agents.len(),
                    agents.join(",")
                );
            }
            for (id, why) in escrow.deposits_at_risk()? {
                eprintln!("at risk: {id}: {why}");
            }
        }
        EscrowCommand::Request {
            deposit,
            requester,
            recipient_key,
            purpose,
            justification,
            out,
        } => {
            let escrow = open(dir)?;
            let recipient = RecipientKey::from_public_key_pem(&read(&recipient_key)?)?;
            let request = escrow.request_release(
                &requester,
                &DepositId::new(deposit)?,
                recipient,
                &purpose,
                &justification,
            )?;
            files::write_json(&out, &escrow.request_package(&request.id)?)?;
            println!("{}", request.id);
        }
        EscrowCommand::Requests => {
            let escrow = open(dir)?;
            for (r, status) in escrow.requests()? {
                let approved: Vec<String> = escrow
                    .approvals(&r.id)?
                    .into_iter()
                    .map(|a| a.agent_id.to_string())
                    .collect();
                let denied: Vec<String> = escrow
                    .denials(&r.id)?
                    .into_iter()
                    .map(|d| d.agent_id.to_string())
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\tapproved:{}\tdenied:{}",
                    r.id,
                    status.as_str(),
                    r.deposit_id,
                    r.requester,
                    r.purpose,
                    approved.join(","),
                    denied.join(",")
                );
            }
        }
        EscrowCommand::Approve {
            request,
            agent_id,
            decryption_key,
            signing_key,
            out,
        } => {
            let package: ReleaseRequestPackage = files::read_json(&request)?;
            let dec = AgentDecryptionKey::from_pkcs8_pem(&Zeroizing::new(read(&decryption_key)?))?;
            let sig =
                kms_escrow::keys::signing_key_from_pkcs8_pem(&Zeroizing::new(read(&signing_key)?))?;
            let r = &package.request;
            eprintln!(
                "request {} by {} for deposit {} ({}, {}), purpose {}:\n  {}\nrecipient key sha256:{}",
                r.id,
                r.requester,
                r.deposit_id,
                package.metadata.object_id,
                package.metadata.algorithm,
                r.purpose,
                r.justification,
                r.recipient.fingerprint()?
            );
            let creds = AgentCredentials {
                agent_id: AgentId::new(agent_id)?,
                decryption_key: &dec,
                signer: &sig,
            };
            let approval =
                kms_escrow::approve(&package, &creds, kms_escrow::Clock::now(&SystemClock))?;
            files::write_json(&out, &approval)?;
        }
        EscrowCommand::Deny {
            request,
            agent_id,
            signing_key,
            reason,
            out,
        } => {
            let package: ReleaseRequestPackage = files::read_json(&request)?;
            let sig =
                kms_escrow::keys::signing_key_from_pkcs8_pem(&Zeroizing::new(read(&signing_key)?))?;
            // Denying needs no share: a placeholder decryption key is never used.
            let unused = AgentDecryptionKey::HpkeP256(kms_escrow::generate_p256_secret_key()?);
            let creds = AgentCredentials {
                agent_id: AgentId::new(agent_id)?,
                decryption_key: &unused,
                signer: &sig,
            };
            let denial = kms_escrow::deny(
                &package,
                &creds,
                &reason,
                kms_escrow::Clock::now(&SystemClock),
            )?;
            files::write_json(&out, &denial)?;
        }
        EscrowCommand::Submit { files: paths } => {
            let escrow = open(dir)?;
            for p in paths {
                submit(&escrow, &p).with_context(|| format!("submitting {}", p.display()))?;
            }
        }
        EscrowCommand::Release {
            request_id,
            approval,
            actor,
            out,
        } => {
            let escrow = open(dir)?;
            let id = RequestId::new(request_id)?;
            let already: Vec<AgentId> = escrow
                .approvals(&id)?
                .into_iter()
                .map(|a| a.agent_id)
                .collect();
            for p in &approval {
                let a: Approval = files::read_json(p)?;
                if !already.contains(&a.agent_id) {
                    escrow
                        .submit_approval(&a)
                        .with_context(|| format!("recording {}", p.display()))?;
                }
            }
            let package = escrow.release(&actor, &id)?;
            files::write_json(&out, &package)?;
            let approvers: Vec<&str> = package
                .approvals
                .iter()
                .map(|a| a.agent_id.as_str())
                .collect();
            println!("released to recipient; approvers {}", approvers.join(","));
        }
        EscrowCommand::Open {
            release,
            recipient_key,
            out,
        } => {
            let package: ReleasePackage = files::read_json(&release)?;
            let sk = files::read_p256_secret_key(&recipient_key)?;
            let key = package.open(&sk)?;
            files::write_secret(&out, key.material())?;
            println!(
                "{} ({}) written to {}",
                key.metadata.object_id,
                key.metadata.algorithm,
                out.display()
            );
        }
        EscrowCommand::Expire => {
            for id in open(dir)?.expire_requests()? {
                println!("expired {id}");
            }
        }
        EscrowCommand::Audit(cmd) => audit(dir, cmd)?,
    }
    Ok(())
}

fn submit(escrow: &Escrow, path: &Path) -> anyhow::Result<()> {
    let text = read(path)?;
    if let Ok(a) = files::parse_json::<Approval>(&text) {
        escrow.submit_approval(&a)?;
        println!("approval by {} recorded", a.agent_id);
    } else if let Ok(d) = files::parse_json::<Denial>(&text) {
        let status = escrow.submit_denial(&d)?;
        println!(
            "denial by {} recorded; request {}",
            d.agent_id,
            status.as_str()
        );
    } else {
        bail!("neither an approval nor a denial");
    }
    Ok(())
}

fn deposit(dir: &Path, d: DepositArgs) -> anyhow::Result<()> {
    let meta = std::fs::metadata(&d.material)?;
    if meta.len() > kms_escrow::deposit::MAX_MATERIAL_LEN as u64 {
        bail!(
            "key material larger than {} bytes",
            kms_escrow::deposit::MAX_MATERIAL_LEN
        );
    }
    let material = Zeroizing::new(std::fs::read(&d.material)?);
    let agents = d
        .agents
        .into_iter()
        .map(AgentId::new)
        .collect::<Result<Vec<_>, _>>()?;
    let mut policy = EscrowPolicy::new(d.threshold, agents);
    for r in d.require_role {
        let (role, count) = r.split_once('=').unwrap_or((r.as_str(), "1"));
        policy = policy.require_role(Role::new(role)?, count.parse().context("role count")?);
    }
    policy.approval_validity_secs = d.approval_validity;
    policy.request_validity_secs = d.request_validity;
    policy.waiting_period_secs = d.waiting_period;
    policy.allowed_purposes = d.purpose;
    policy.allow_signing_keys = d.allow_signing_keys;
    policy.denial_vetoes = d.denial_vetoes;
    let metadata = EscrowedKeyMetadata {
        object_id: d.object_id,
        object_type: d.object_type,
        algorithm: d.algorithm,
        is_signing_key: d.signing_key,
    };
    let id = open(dir)?.deposit(&d.depositor, metadata, &material, policy)?;
    println!("{id}");
    Ok(())
}

fn audit(dir: &Path, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify {
            log,
            head,
            anchor,
            service_key,
        } => {
            let anchor: Option<AuditHead> = anchor.map(|p| files::read_json(&p)).transpose()?;
            let key = match service_key {
                Some(p) => ApprovalKey::from_public_key_pem(&read(&p)?)?.0,
                None => open(dir)?.service_verifying_key(),
            };
            let (records, head) = match (log, head) {
                (Some(l), Some(h)) => (
                    kms_escrow::audit::read_jsonl(&read(&l)?)?,
                    Some(files::read_json(&h)?),
                ),
                _ => {
                    let (records, head) = open(dir)?.audit_log()?;
                    if head.is_none() && !records.is_empty() {
                        bail!("audit log has no signed head");
                    }
                    (records, head)
                }
            };
            let report = kms_escrow::audit::verify(&records, &key, head.as_ref(), anchor.as_ref())?;
            println!(
                "audit log OK: {} records, {} signed checkpoints (last at {}), head {}",
                report.records,
                report.checkpoints,
                report
                    .last_checkpoint
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                report.head_hash
            );
        }
        AuditCommand::Export { out, head_out } => {
            let (records, head) = open(dir)?.audit_log()?;
            files::write_atomic(
                &out,
                kms_escrow::audit::to_jsonl(&records)?.as_bytes(),
                false,
            )?;
            if let Some(h) = head {
                files::write_json(&head_out, &h)?;
            }
            println!("{} records exported", records.len());
        }
        AuditCommand::ServiceKey { out } => {
            let pem = ApprovalKey(open(dir)?.service_verifying_key()).to_public_key_pem()?;
            files::write_atomic(&out, pem.as_bytes(), false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: EscrowArgs,
    }

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn kms(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
        let mut argv = vec!["kms-escrow", "--data-dir", dir.to_str().unwrap()];
        argv.extend_from_slice(args);
        run(Cli::try_parse_from(argv)?.args)
    }

    /// The whole flow from the command line, with files: agents, deposit, request, an offline denial and two
    /// offline approvals, release, the recipient opening it, audit export and verification.
    #[test]
    fn the_whole_flow_runs_from_the_command_line() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let tmp = Dir(
            std::env::temp_dir().join(format!("kms-escrow-cli-{}-{nanos}", std::process::id()))
        );
        std::fs::create_dir_all(&tmp.0).unwrap();
        let d = tmp.0.as_path();
        let p = |name: &str| d.join(name).to_str().unwrap().to_owned();
        for who in ["sec", "legal", "cfo", "bob"] {
            kms(d, &["keygen", "--out", &p(&format!("{who}-enc"))]).unwrap();
            kms(d, &["keygen", "--out", &p(&format!("{who}-sig"))]).unwrap();
        }
        for (id, role, who) in [
            ("sec-1", "security", "sec"),
            ("legal-1", "legal", "legal"),
            ("cfo", "management", "cfo"),
        ] {
            kms(
                d,
                &[
                    "agent",
                    "add",
                    "--id",
                    id,
                    "--name",
                    id,
                    "--role",
                    role,
                    "--encryption-key",
                    &p(&format!("{who}-enc.pub.pem")),
                    "--approval-key",
                    &p(&format!("{who}-sig.pub.pem")),
                ],
            )
            .unwrap();
        }
        std::fs::write(d.join("key.bin"), [0x11u8; 32]).unwrap();
        let deposit = |extra: &[&str]| {
            let mut a = vec![
                "deposit",
                "--material",
                d.join("key.bin").to_str().unwrap(),
                "--object-id",
                "backup",
                "--algorithm",
                "AES-256",
                "--agents",
                "sec-1,legal-1,cfo",
                "--threshold",
                "2",
                "--require-role",
                "legal=1",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
            a.extend(extra.iter().map(|s| (*s).to_owned()));
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            kms(d, &refs)
        };
        deposit(&[]).unwrap();
        // A signing key needs --allow-signing-keys.
        assert!(deposit(&["--signing-key"]).is_err());
        let escrow = EscrowDir::new(d).open(Arc::new(SystemClock)).unwrap();
        let dep = escrow.deposits().unwrap()[0].id.to_string();
        drop(escrow);

        kms(
            d,
            &[
                "request",
                "--deposit",
                &dep,
                "--requester",
                "bob",
                "--recipient-key",
                &p("bob-enc.pub.pem"),
                "--purpose",
                "legal-hold",
                "--justification",
                "Court order 17 requires the archive.",
                "--out",
                &p("req.json"),
            ],
        )
        .unwrap();
        let package: ReleaseRequestPackage = files::read_json(&d.join("req.json")).unwrap();
        let req = package.request.id.to_string();
        let approve = |agent: &str, who: &str, out: &str| {
            kms(
                d,
                &[
                    "approve",
                    "--request",
                    &p("req.json"),
                    "--agent-id",
                    agent,
                    "--decryption-key",
                    &p(&format!("{who}-enc.key.pem")),
                    "--signing-key",
                    &p(&format!("{who}-sig.key.pem")),
                    "--out",
                    &p(out),
                ],
            )
        };
        approve("sec-1", "sec", "a1.json").unwrap();
        // The wrong agent's key does not open another agent's share.
        assert!(approve("legal-1", "sec", "bad.json").is_err());
        kms(
            d,
            &[
                "deny",
                "--request",
                &p("req.json"),
                "--agent-id",
                "cfo",
                "--signing-key",
                &p("cfo-sig.key.pem"),
                "--reason",
                "No ticket.",
                "--out",
                &p("d1.json"),
            ],
        )
        .unwrap();
        kms(d, &["submit", &p("d1.json")]).unwrap();
        let release = |approvals: &[&str]| {
            let mut a = vec![
                "release".to_owned(),
                "--request-id".into(),
                req.clone(),
                "--actor".into(),
                "bob".into(),
            ];
            for f in approvals {
                a.push("--approval".into());
                a.push(p(f));
            }
            a.push("--out".into());
            a.push(p("release.json"));
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            kms(d, &refs)
        };
        // Security alone: one approval, and legal missing.
        assert!(release(&["a1.json"]).is_err());
        approve("legal-1", "legal", "a2.json").unwrap();
        release(&["a1.json", "a2.json"]).unwrap();
        kms(
            d,
            &[
                "open",
                "--release",
                &p("release.json"),
                "--recipient-key",
                &p("bob-enc.key.pem"),
                "--out",
                &p("key.out"),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(d.join("key.out")).unwrap(), [0x11u8; 32]);
        // The wrong recipient key does not open it.
        assert!(
            kms(
                d,
                &[
                    "open",
                    "--release",
                    &p("release.json"),
                    "--recipient-key",
                    &p("cfo-enc.key.pem"),
                    "--out",
                    &p("x")
                ]
            )
            .is_err()
        );

        for listing in [
            &["requests"][..],
            &["deposits"],
            &["agent", "list"],
            &["expire"],
        ] {
            kms(d, listing).unwrap();
        }
        kms(d, &["audit", "verify"]).unwrap();
        kms(
            d,
            &[
                "audit",
                "export",
                "--out",
                &p("log.jsonl"),
                "--head-out",
                &p("head.json"),
            ],
        )
        .unwrap();
        kms(d, &["audit", "service-key", "--out", &p("svc.pem")]).unwrap();
        let verify_export = || {
            kms(
                d,
                &[
                    "audit",
                    "verify",
                    "--log",
                    &p("log.jsonl"),
                    "--head",
                    &p("head.json"),
                    "--anchor",
                    &p("head.json"),
                    "--service-key",
                    &p("svc.pem"),
                ],
            )
        };
        verify_export().unwrap();
        let log = std::fs::read_to_string(d.join("log.jsonl")).unwrap();
        let edited = log.replacen("Court order 17", "Court order 18", 1);
        assert_ne!(log, edited);
        std::fs::write(d.join("log.jsonl"), edited).unwrap();
        assert!(verify_export().is_err());
    }
}
