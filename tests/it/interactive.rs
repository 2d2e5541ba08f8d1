//! Interactive creation and confirmation, driven through a real pseudo-terminal.

use crate::common;

use common::Env;
use rexpect::session::spawn_command;

const TIMEOUT_MS: u64 = 10_000;

/// Key presses are read in raw mode: give the prompt a moment to switch the terminal over.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(150));
}

#[test]
fn create_prompts_for_what_is_missing() {
    let env = Env::new();
    env.customer("acme");
    let mut cmd = env.tty_cmd();
    cmd.args(["--output", "json", "webhooks", "create", "--timeout", "5s"]);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pty");
    p.exp_string("Customer id").unwrap();
    p.send_line("7").unwrap(); // no such customer: asked again
    p.exp_string("not found").unwrap();
    p.send_line("1").unwrap();
    p.exp_string("Name").unwrap();
    p.send_line("From the terminal").unwrap();
    p.exp_string("URL").unwrap();
    p.send_line("ftp://wrong.example.com/").unwrap();
    p.exp_string("not http or https").unwrap();
    p.send_line("https://ops.example.com/hook").unwrap();
    // Every key the menu takes is named: `a` selects all (typing a type's name would).
    p.exp_string("space to select, a for all, enter to confirm")
        .unwrap();
    p.exp_string("Compliance violation found").unwrap();
    settle();
    p.send(" ").unwrap(); // select the first (job.created)
    p.flush().unwrap();
    p.exp_string("Compliance violation found").unwrap(); // the menu, redrawn
    settle();
    p.send("\r").unwrap();
    p.flush().unwrap();
    // What confirming shows: one short line of the chosen types, not their padded labels.
    let confirmed = p.exp_string("Signing secret").unwrap();
    assert!(confirmed.contains("Events: job.created"), "{confirmed:?}");
    assert!(!confirmed.contains("Job is created"), "{confirmed:?}");
    p.exp_string("none").unwrap();
    settle();
    p.send("\x1b[B").unwrap(); // down: "type one"
    p.flush().unwrap();
    settle();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Secret").unwrap();
    p.send_line("typed-secret-of-some-length").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(
        !rest.contains("typed-secret"),
        "the secret is never echoed: {rest:?}"
    );
    assert!(!rest.contains("\"secret\""), "{rest:?}");

    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["name"], "From the terminal");
    assert_eq!(w["url"], "https://ops.example.com/hook");
    assert_eq!(w["event_types"], serde_json::json!(["job.created"]));
    assert_eq!(w["has_secret"], true);
    assert_eq!(w["timeout_seconds"], 5);
}

#[test]
fn create_on_a_terminal_generates_the_secret_by_default_and_shows_it_once() {
    let env = Env::new();
    env.customer("acme");
    let mut cmd = env.tty_cmd();
    cmd.args([
        "--output",
        "json",
        "webhooks",
        "create",
        "--customer",
        "1",
        "--event",
        "job.failed",
        "--url",
        "https://ops.example.com/hook",
    ]);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pty");
    p.exp_string("Name").unwrap();
    p.send_line("generated").unwrap();
    p.exp_string("Signing secret").unwrap();
    p.exp_string("none").unwrap();
    settle();
    p.send("\r").unwrap(); // the default: generate one
    p.flush().unwrap();
    let printed = p.exp_eof().unwrap();
    let json = &printed[printed.find("{\"id\"").expect("the webhook's JSON")..];
    let created: serde_json::Value =
        serde_json::from_str(json.lines().next().unwrap().trim()).unwrap();
    let secret = created["secret"].as_str().expect("the generated secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{secret}"
    );
    let shown = env.run(&["webhooks", "show", "1"]).ok();
    assert_eq!(shown.json()["has_secret"], true);
    assert!(!shown.stdout.contains(secret) && shown.json().get("secret").is_none());
}

#[test]
fn delete_asks_for_confirmation_on_a_terminal() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "keep-me", "https://a.example.com/", &[]);
    let mut cmd = env.tty_cmd();
    cmd.args(["webhooks", "delete", "1"]);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pty");
    p.exp_string("(y/n)").unwrap();
    settle();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_string("nothing was deleted").unwrap();
    p.exp_eof().unwrap();
    env.run(&["webhooks", "show", "1"]).ok();

    let mut cmd = env.tty_cmd();
    cmd.args(["webhooks", "delete", "1"]);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pty");
    p.exp_string("(y/n)").unwrap();
    settle();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_eof().unwrap();
    env.run(&["webhooks", "show", "1"]).fails(1, "not found");
}
