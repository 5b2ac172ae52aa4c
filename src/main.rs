//! The `nexus-bench` binary: parse arguments, run the subcommand, map the outcome to the
//! documented exit code.

use clap::Parser;

/// jemalloc is the allocator of the whole binary because `serve --heap-profiling` serves its
/// heap profiles. Its profiler is compiled in but inactive (see [`MALLOC_CONF`]), so the load
/// generator never samples; docs/performance.md has the generator measured with both
/// allocators.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's built-in configuration (its `malloc_conf`, a `const char *`, prefixed `_rjem_`
/// by tikv-jemalloc-sys): heap profiling possible (`prof:true`) but off until `serve
/// --heap-profiling` turns it on at run time (`prof.active`), and then one sampled allocation
/// per 64 KiB allocated on average (`lg_prof_sample:16`; jemalloc scales the samples back to
/// estimated bytes). Release builds (thin LTO) may drop this symbol; `serve --heap-profiling`
/// then re-runs itself with the same configuration in `_RJEM_MALLOC_CONF`.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: Option<&std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a string literal, valid for the program's life.
    Some(unsafe { &*c"prof:true,prof_active:false,lg_prof_sample:16".as_ptr() });

fn main() {
    let cli = nexus_bench::cli::Cli::parse();
    let code = match nexus_bench::app::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("error: {err:#}");
            nexus_bench::app::Outcome::Invalid.exit_code()
        }
    };
    std::process::exit(code);
}
