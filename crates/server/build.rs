//! Builds the web UI (`ui/` at the workspace root) with npm and Vite when its sources change,
//! and writes `ui_assets.rs` into `OUT_DIR`: every built file, embedded with `include_bytes!`,
//! with its content type and a gzip copy.
//!
//! The build output is cached under `ui/node_modules/.sightline-dist/<hash of the sources>`,
//! so the several build configurations of one `cargo test` (with and without features) run
//! Vite once, and a file lock keeps two build scripts from running npm at once.
//! `SIGHTLINE_UI_DIST` names an already built folder instead (packagers, a machine without
//! Node.js).

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the UI build reads; a change to any of them rebuilds it.
const INPUTS: &[&str] = &[
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];
/// How many built versions the cache keeps.
const KEEP_BUILDS: usize = 3;

type Result<T> = std::result::Result<T, String>;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: the web UI did not build: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let ui = manifest.join("../../ui");
    println!("cargo:rerun-if-env-changed=SIGHTLINE_UI_DIST");
    let dist = match std::env::var_os("SIGHTLINE_UI_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            for input in INPUTS {
                println!("cargo:rerun-if-changed={}", ui.join(input).display());
            }
            build(&ui)?
        }
    };
    let out = PathBuf::from(env("OUT_DIR")?);
    write_manifest(&dist, &out)
}

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The built folder for the current sources, building it if the cache lacks it.
fn build(ui: &Path) -> Result<PathBuf> {
    let hash = hash_inputs(ui)?;
    let cache = ui.join("node_modules/.sightline-dist");
    let dist = cache.join(format!("{hash:016x}"));
    if dist.join(".complete").exists() {
        return Ok(dist);
    }
    let lock_path = ui.join(".build-lock");
    let lock = fs::File::create(&lock_path).map_err(|e| io(&lock_path, e))?;
    lock.lock().map_err(|e| io(&lock_path, e))?;
    if dist.join(".complete").exists() {
        return Ok(dist);
    }
    install_packages(ui)?;
    let vite = ui.join("node_modules/.bin/vite");
    let _ = fs::remove_dir_all(&dist);
    run_command(
        Command::new(&vite)
            .arg("build")
            .arg("--outDir")
            .arg(&dist)
            .arg("--emptyOutDir")
            .arg("--logLevel")
            .arg("warn")
            .current_dir(ui),
        "vite build",
    )?;
    fs::write(dist.join(".complete"), b"").map_err(|e| io(&dist, e))?;
    prune(&cache, &dist);
    Ok(dist)
}

/// `npm ci` when `node_modules` does not match the lockfile.
fn install_packages(ui: &Path) -> Result<()> {
    let lockfile = ui.join("package-lock.json");
    let wanted = fs::read(&lockfile).map_err(|e| io(&lockfile, e))?;
    let stamp = ui.join("node_modules/.sightline-lockfile");
    if fs::read(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    run_command(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(ui),
        "npm ci (Node.js and npm are needed to build the UI; see README.md)",
    )?;
    fs::write(&stamp, wanted).map_err(|e| io(&stamp, e))
}

fn run_command(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Removes all but the newest cached builds.
fn prune(cache: &Path, keep: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    let mut builds: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path() != keep)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    builds.sort();
    let extra = builds.len().saturating_sub(KEEP_BUILDS - 1);
    for (_, path) in builds.into_iter().take(extra) {
        let _ = fs::remove_dir_all(path);
    }
}

/// A hash of every input file's path and contents.
fn hash_inputs(ui: &Path) -> Result<u64> {
    let mut files = Vec::new();
    for input in INPUTS {
        collect(&ui.join(input), &mut files)?;
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        let bytes = fs::read(&file).map_err(|e| io(&file, e))?;
        hasher.write(
            file.strip_prefix(ui)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
    Ok(hasher.finish())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in fs::read_dir(path).map_err(|e| io(path, e))? {
        collect(&entry.map_err(|e| io(path, e))?.path(), out)?;
    }
    Ok(())
}

/// `ui_assets.rs`: `(url path, bytes, gzip bytes, content type)` for every built file.
fn write_manifest(dist: &Path, out: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect(dist, &mut files)?;
    files.sort();
    let gz_dir = out.join("ui-gz");
    fs::create_dir_all(&gz_dir).map_err(|e| io(&gz_dir, e))?;
    let mut code = String::from("pub(crate) static ASSETS: &[Asset] = &[\n");
    for (i, file) in files.iter().enumerate() {
        let rel = file.strip_prefix(dist).unwrap_or(file);
        let name = rel.to_string_lossy().replace('\\', "/");
        if name.starts_with('.') {
            continue;
        }
        let bytes = fs::read(file).map_err(|e| io(file, e))?;
        let gz = gz_dir.join(format!("{i}.gz"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).map_err(|e| io(file, e))?;
        let compressed = encoder.finish().map_err(|e| io(file, e))?;
        fs::write(&gz, compressed).map_err(|e| io(&gz, e))?;
        code.push_str(&format!(
            "    Asset {{ path: {path:?}, body: include_bytes!({file:?}), gzip: include_bytes!({gz:?}), content_type: {ct:?} }},\n",
            path = format!("/{name}"),
            file = file.canonicalize().map_err(|e| io(file, e))?,
            ct = content_type(&name),
        ));
    }
    code.push_str("];\n");
    let target = out.join("ui_assets.rs");
    fs::write(&target, code).map_err(|e| io(&target, e))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}
