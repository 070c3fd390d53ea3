//! The `kiln` binary: a thin shell over [`kiln_cli::run`].

use std::io::Write;

fn main() {
    // No panic message or backtrace reaches a user: a panic is an internal failure (exit 1),
    // reported as one line (and as JSON when `--json` was given).
    let json = std::env::args().any(|a| a == "--json");
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let line = format!("internal error: {}", msg.lines().next().unwrap_or_default());
        eprintln!("kiln: {line}");
        if json {
            println!("{}", serde_json::json!({ "error": line }));
        }
    }));
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = std::panic::catch_unwind(|| {
        let mut out = stdout.lock();
        let mut err = stderr.lock();
        let code = kiln_cli::run(std::env::args_os(), &mut out, &mut err);
        let _ = out.flush();
        code
    })
    .unwrap_or(1);
    std::process::exit(code);
}
