//! `portcullis migrate status | print | apply`: a schema change is looked at before it is made.
//! Plain `portcullis migrate` applies, as it always did.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::CliError;
use crate::config::Settings;
use crate::db::migrations::{self, MigrationSql, SchemaStatus};
use crate::db::{self, BackendKind, Db};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: Option<MigrateCommand>,
    /// Revert every migration instead (drops all Portcullis tables and their data).
    #[arg(long)]
    revert_all: bool,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// List this binary's migrations, each applied or pending, and any applied migration this
    /// binary does not know (the schema is then newer than the binary: exit status 1).
    Status,
    /// Print the SQL of the migrations still pending for the configured database, oldest first.
    /// Nothing is applied.
    Print {
        /// Print every migration for this backend instead, without opening any database.
        #[arg(long, value_enum)]
        backend: Option<PrintBackend>,
        /// Print the revert SQL (down.sql) instead, newest first: of the applied migrations, or
        /// with --backend of all of them.
        #[arg(long)]
        down: bool,
    },
    /// Apply the pending migrations, printing each one, and exit.
    Apply,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrintBackend {
    Sqlite,
    Postgres,
}

impl From<PrintBackend> for BackendKind {
    fn from(b: PrintBackend) -> Self {
        match b {
            PrintBackend::Sqlite => BackendKind::Sqlite,
            PrintBackend::Postgres => BackendKind::Postgres,
        }
    }
}

pub async fn run(settings: &Settings, args: MigrateArgs) -> Result<(), CliError> {
    if args.revert_all {
        let reverted = connect(settings)?.run(db::revert_all_migrations).await?;
        println!("reverted {} migration(s)", reverted.len());
        return Ok(());
    }
    match args.command.unwrap_or(MigrateCommand::Apply) {
        MigrateCommand::Status => status(settings).await,
        MigrateCommand::Print {
            backend: Some(backend),
            down,
        } => print_every(backend.into(), down),
        MigrateCommand::Print {
            backend: None,
            down,
        } => print_for_database(settings, down).await,
        MigrateCommand::Apply => apply(settings).await,
    }
}

/// One connection, and no migration run on opening: these commands decide for themselves.
fn connect(settings: &Settings) -> Result<Db, CliError> {
    Ok(Db::connect(
        &settings.database_url(),
        1,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?)
}

async fn read_status(settings: &Settings) -> Result<SchemaStatus, CliError> {
    Ok(connect(settings)?.run(migrations::status).await?)
}

async fn status(settings: &Settings) -> Result<(), CliError> {
    let status = read_status(settings).await?;
    println!("{:<16}{:<32}STATE", "VERSION", "NAME");
    for (migration, applied) in &status.migrations {
        let state = if *applied { "applied" } else { "pending" };
        println!("{:<16}{:<32}{state}", migration.version(), migration.name());
    }
    for version in &status.unknown {
        println!("{version:<16}{:<32}applied, unknown to this binary", "?");
    }
    let applied = status.applied().count();
    let pending = status.pending().count();
    let mut summary = format!(
        "{} database: {} migrations in this binary, {applied} applied, {pending} pending",
        status.backend,
        status.migrations.len()
    );
    if !status.unknown.is_empty() {
        summary.push_str(&format!(
            ", {} applied by a newer Portcullis",
            status.unknown.len()
        ));
    } else if pending > 0 {
        summary.push_str(
            " (review them with `portcullis migrate print`, then run `portcullis migrate apply`)",
        );
    } else {
        summary.push_str(" (up to date)");
    }
    println!("{summary}");
    status.require_known().map_err(|e| CliError::App(e.into()))
}

/// Without `--backend`: what `apply` would run on the configured database (or, with `--down`,
/// what reverting its applied migrations would run).
async fn print_for_database(settings: &Settings, down: bool) -> Result<(), CliError> {
    let status = read_status(settings).await?;
    status
        .require_known()
        .map_err(|e| CliError::App(e.into()))?;
    let backend = status.backend;
    let list: Vec<&MigrationSql> = if down {
        status.applied().rev().collect()
    } else {
        status.pending().collect()
    };
    let preface = match (list.is_empty(), down) {
        (true, false) => format!("-- {backend} database is up to date: no pending migrations"),
        (true, true) => format!("-- {backend} database: no applied migrations to revert"),
        (false, false) => format!(
            "-- The {} pending migration(s) of this {backend} database, oldest first. Nothing has \
             been applied: `portcullis migrate apply` applies them.",
            list.len()
        ),
        (false, true) => format!(
            "-- Reverting the {} applied migration(s) of this {backend} database, newest first. \
             Nothing has been run.",
            list.len()
        ),
    };
    print_sql(&preface, backend, &list, down)
}

/// `--backend`: every migration the binary carries for that backend; no database is opened.
fn print_every(backend: BackendKind, down: bool) -> Result<(), CliError> {
    let mut list: Vec<&MigrationSql> = migrations::known(backend).iter().collect();
    let preface = if down {
        list.reverse();
        format!(
            "-- Reverting all {} migrations for {backend}, newest first.",
            list.len()
        )
    } else {
        format!(
            "-- All {} migrations for {backend}, oldest first.",
            list.len()
        )
    };
    print_sql(&preface, backend, &list, down)
}

/// Writes the SQL to standard output. A reader that stops early (`| head`, quitting a pager)
/// closes the pipe; that ends the printing, not in a panic as `println!` would.
fn print_sql(
    preface: &str,
    backend: BackendKind,
    list: &[&MigrationSql],
    down: bool,
) -> Result<(), CliError> {
    use std::io::Write;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(out, "{preface}")?;
        let file = if down { "down.sql" } else { "up.sql" };
        for migration in list {
            writeln!(out)?;
            writeln!(
                out,
                "-- Migration {} {} (migrations/{backend}/{}/{file})",
                migration.version(),
                migration.name(),
                migration.folder
            )?;
            let sql = if down {
                migration.down
            } else {
                Some(migration.up)
            };
            match sql {
                Some(sql) => writeln!(out, "{}", sql.trim_end())?,
                None => writeln!(out, "-- (no down.sql: this migration cannot be reverted)")?,
            }
        }
        out.flush()
    };
    match write(&mut std::io::stdout().lock()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Usage(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

async fn apply(settings: &Settings) -> Result<(), CliError> {
    let db = connect(settings)?;
    let applied = db.run(db::run_migrations).await?;
    let carried = migrations::known(db.backend());
    for version in &applied {
        let name = carried
            .iter()
            .find(|m| m.version() == *version)
            .map_or("", |m| m.name());
        println!("applied {version} {name}");
    }
    println!(
        "database ({}) is up to date: {} migration(s) applied",
        db.backend(),
        applied.len()
    );
    Ok(())
}
