//! A real one-node Slurm cluster on 127.0.0.1, private to one test: its own `slurm.conf`,
//! munge key, socket, state and spool folders and ports in a temporary folder, with
//! `munged`, `slurmctld` and `slurmd` started in the foreground as children of the test and
//! stopped by PID when the [`Cluster`] is dropped (also when the test fails half-way).
//!
//! Debian's `slurmctld`, `slurmd` and `munge` packages provide the daemons (`ci/test.sh`
//! installs them). The daemons run as the current user (`SlurmUser` and `SlurmdUser`); jobs
//! then run as that user too.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The node's name in the cluster's configuration.
const NODE: &str = "nexusnode";

/// A daemon started by the test, stopped by its PID on drop.
struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Stops the daemon: SIGTERM, then SIGKILL if it has not ended within 5 s.
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child, whose PID cannot have been reused: it has not been
        // waited for.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running one-node cluster. Slurm commands run through [`Cluster::command`].
pub struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    daemons: Vec<Daemon>,
}

/// An installed program: on PATH, or in /usr/sbin (not on a non-root PATH on Debian).
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: the Slurm tests need Debian's slurmctld, slurmd, \
                 slurm-client and munge packages (ci/test.sh installs them)"
            )
        })
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The name of the user the test runs as.
fn user_name() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .expect("`id -un` runs");
    String::from_utf8(out.stdout)
        .expect("a UTF-8 user name")
        .trim()
        .to_owned()
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd, and waits (at most 60 s) until the node is idle.
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("nexus-slurm")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        // munged insists that everyone may traverse the folders above its socket.
        set_mode(&root, 0o711);
        let munge_dir = root.join("munge");
        fs::create_dir(&munge_dir).expect("munge dir");
        set_mode(&munge_dir, 0o755);
        for sub in ["state", "spool", "logs"] {
            fs::create_dir(root.join(sub)).expect("cluster folders");
        }
        let key = root.join("munge.key");
        let mut key_bytes = [0u8; 128];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key_bytes))
            .expect("random bytes for the munge key");
        fs::write(&key, key_bytes).expect("munge key");
        set_mode(&key, 0o600);
        let socket = munge_dir.join("munge.socket");

        let host = hostname::get()
            .expect("the host name")
            .to_string_lossy()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let user = user_name();
        let conf = root.join("slurm.conf");
        let r = root.display();
        fs::write(
            &conf,
            format!(
                "ClusterName=nexustest\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmUser={user}\nSlurmdUser={user}\n\
                 SlurmctldPort={ctld}\nSlurmdPort={slurmd}\n\
                 AuthType=auth/munge\nCredType=cred/munge\n\
                 AuthInfo=socket={socket}\n\
                 StateSaveLocation={r}/state\nSlurmdSpoolDir={r}/spool\n\
                 SlurmctldPidFile={r}/slurmctld.pid\nSlurmdPidFile={r}/slurmd.pid\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
                 JobAcctGatherType=jobacct_gather/none\nJobCompType=jobcomp/none\n\
                 MpiDefault=none\nSwitchType=switch/none\nMailProg=/bin/true\n\
                 SchedulerType=sched/backfill\nSelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\nReturnToService=2\n\
                 SlurmdTimeout=30\nInactiveLimit=0\nKillWait=5\n\
                 NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={host} CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=test Nodes={NODE} Default=YES MaxTime=INFINITE State=UP\n",
                ctld = free_port(),
                slurmd = free_port(),
                socket = socket.display(),
            ),
        )
        .expect("slurm.conf");

        let mut cluster = Cluster {
            dir,
            conf,
            daemons: Vec::new(),
        };
        cluster.spawn(
            "munged",
            &[
                "-F".into(),
                format!("--socket={}", socket.display()),
                format!("--key-file={}", key.display()),
                format!("--pid-file={r}/munged.pid"),
                format!("--seed-file={r}/munged.seed"),
                format!("--log-file={r}/logs/munged.file.log"),
            ],
        );
        cluster.wait_until("munged's socket", |_| socket.exists());
        let conf_arg = cluster.conf.display().to_string();
        cluster.spawn("slurmctld", &["-D".into(), "-f".into(), conf_arg.clone()]);
        cluster.spawn(
            "slurmd",
            &["-D".into(), "-N".into(), NODE.into(), "-f".into(), conf_arg],
        );
        cluster.wait_until("the node to be idle", |c| {
            let out = c.command("sinfo").args(["-h", "-N", "-o", "%t"]).output();
            out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        cluster
    }

    /// The cluster's temporary folder (shared by the jobs: one node).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A Slurm client command (`sbatch`, `srun`, `scontrol`…) aimed at this cluster.
    pub fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(program(name));
        cmd.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        cmd
    }

    /// Runs a client command to the end and returns its output, failing the test (with the
    /// daemons' logs) when it fails.
    pub fn run(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().expect("a Slurm command starts");
        if !out.status.success() {
            panic!(
                "{cmd:?} failed ({}):\n{}{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        out
    }

    /// Submits a batch job with `sbatch --parsable ARGS` and returns its id.
    pub fn sbatch(&self, args: &[&str]) -> u64 {
        let out = self.run(self.command("sbatch").arg("--parsable").args(args));
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .split(';')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("sbatch printed no job id: {text:?}"))
    }

    /// The job's state and exit code (`COMPLETED`, `0:0`), from `scontrol show job`.
    pub fn job_state(&self, id: u64) -> (String, String) {
        let out = self.run(
            self.command("scontrol")
                .args(["show", "job", "-o"])
                .arg(id.to_string()),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        (field("JobState="), field("ExitCode="))
    }

    /// Waits for the job to leave the queue's pending and running states and returns its
    /// final state and exit code.
    pub fn wait_job(&self, id: u64, within: Duration) -> (String, String) {
        let deadline = Instant::now() + within;
        loop {
            let (state, code) = self.job_state(id);
            let finished = !matches!(
                state.as_str(),
                "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | ""
            );
            if finished {
                return (state, code);
            }
            if Instant::now() > deadline {
                panic!("job {id} still {state} after {within:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every daemon's log, for failure messages.
    pub fn logs(&self) -> String {
        self.daemons
            .iter()
            .map(|d| {
                let text = fs::read_to_string(&d.log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {} log (last lines):\n{}", d.name, tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn spawn(&mut self, name: &'static str, args: &[String]) {
        let log = self.dir.path().join("logs").join(format!("{name}.log"));
        let file = fs::File::create(&log).expect("daemon log");
        let child = Command::new(program(name))
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        self.daemons.push(Daemon { name, child, log });
    }

    fn wait_until(&mut self, what: &str, ready: impl Fn(&Cluster) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(self) {
            let exited = self.daemons.iter_mut().find_map(|d| {
                let status = d.child.try_wait().ok().flatten()?;
                Some((d.name, status))
            });
            if let Some((name, status)) = exited {
                panic!(
                    "{name} exited ({status}) while waiting for {what}\n{}",
                    self.logs()
                );
            }
            if Instant::now() > deadline {
                panic!("no {what} within 60 s\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    /// Cancels every job still queued or running, then stops slurmd, slurmctld and munged
    /// (in that order) by their PIDs.
    fn drop(&mut self) {
        let running = self
            .daemons
            .iter_mut()
            .any(|d| d.name == "slurmctld" && d.child.try_wait().ok().flatten().is_none());
        if running {
            let _ = self
                .command("scancel")
                .args(["--user", &user_name()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for daemon in self.daemons.iter_mut().rev() {
            daemon.stop();
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
