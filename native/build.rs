// napi-rs link setup, plus the locked faer version for `versions()` (read from Cargo.lock so the
// number reported is the one actually built).
fn main() {
    napi_build::setup();
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let faer = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"faer\"\n"))
        .and_then(|p| {
            p.lines()
                .find_map(|l| l.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=QUIVER_FAER_VERSION={faer}");
}
