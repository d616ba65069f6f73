//! The thesis's table and plots for one ladder of recurrent-generator runs (`just thesis` runs
//! the ladder and then this).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use retrofit_experiments::run_main;
use retrofit_experiments::thesis::{ladder_table, read_ladder, write_plots};

/// Write results/thesis/<ladder>/README.md (table) and its plots, and print the table.
#[derive(Debug, Parser)]
#[command(name = "thesis")]
struct Cli {
    /// The ladder's name: its runs are results/recurrent-generator/<ladder>-<rung>-s<seed>.
    #[arg(long)]
    ladder: String,
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        let rungs = read_ladder(&cli.results, &cli.ladder)?;
        let table = ladder_table(&rungs);
        let dir = cli.results.join("thesis").join(&cli.ladder);
        write_plots(&rungs, &dir)?;
        let data = &rungs[0].1[0].summary.data;
        let readme = format!(
            "# Ladder `{}`\n\nData: {data}.\n\n{table}\n![training loss](loss_curves.svg)\n\n![validation loss by window index](window_loss.svg)\n\nWritten by `thesis --ladder {}` from results/recurrent-generator/{}-*.\n",
            cli.ladder, cli.ladder, cli.ladder
        );
        std::fs::write(dir.join("README.md"), readme)?;
        print!("{table}");
        println!("written: {}", dir.display());
        Ok(())
    })
}
