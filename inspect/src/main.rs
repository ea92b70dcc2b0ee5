//! `cargo inspect ./data [COMMAND]`: parse the command line, read the
//! directory, print; no logic of its own (see `lib.rs`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use std::io::Write;

use inspect::{Error, Result, Step, Tree, get, live, picture, summary, verify, web};

/// A read-only look at a little-kv data directory (steps 03 to 07).
#[derive(Parser)]
struct Args {
    /// The store's data directory (the server's --working-dir).
    directory: PathBuf,
    /// Read it as this step wrote it (3 to 7) instead of guessing from its files.
    #[arg(long)]
    step: Option<u8>,
    /// Print the summary again every second, until Ctrl-C.
    #[arg(long, conflicts_with = "serve")]
    watch: bool,
    /// Serve a web page on 127.0.0.1 that follows the directory live and
    /// replays how its tree changed, until Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// The port of --serve (0 picks a free one).
    #[arg(long, default_value_t = 8889, requires = "serve")]
    port: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The manifest, the live tables newest first, the logs, the totals (the default).
    Summary,
    /// How the step's store looks KEY up, table by table, and what it answers.
    Get { key: String },
    /// Check every format rule and cross-file fact; exit 1 on any problem.
    Verify,
    /// An SVG of the tree on standard output: tables as bars over the key range.
    Picture,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("inspect: {error}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; `Ok(false)` when `verify` found problems.
fn run(args: &Args) -> Result<bool> {
    let step = args.step.map(Step::new).transpose()?;
    if args.serve {
        web::serve(live::Timeline::new(&args.directory, step), args.port)?;
        return Ok(true);
    }
    loop {
        let tree = Tree::read(&args.directory, step)?;
        let (text, ok) = match &args.command {
            None | Some(Command::Summary) => (summary::render(&tree), true),
            Some(Command::Get { key }) => (get::explain(&tree, key).0, true),
            Some(Command::Verify) => verify::render(&tree),
            Some(Command::Picture) => (picture::draw(&tree), true),
        };
        if !args.watch {
            show(&text)?;
            return Ok(ok);
        }
        // Clear the screen and go home, then redraw: ANSI, as `watch` does.
        show(&format!("\x1b[2J\x1b[H{text}"))?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Writes `text` to standard output. A reader that has gone away, as
/// `head` does once it has its lines, is not an error: the rest of the
/// output was not wanted, and the command ends quietly instead of
/// panicking, as `print!` would.
fn show(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => Err(Error::Output(error)),
        Ok(()) => Ok(()),
    }
}
