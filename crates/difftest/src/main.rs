//! `oxvm-difftest --seed S --cases N [--class C]... [--max-report K] [--no-reduce] [--require-all-forms]`
//! `oxvm-difftest --robust --seed S --cases N`
//!
//! `--cases` is the total over the selected classes (split evenly). The
//! exit status is 1 if any case mismatched (or, with --robust, panicked or
//! hung) or, with --require-all-forms, if some instruction form of a
//! selected class was not exercised; 2 on usage or harness errors.

use std::process::ExitCode;

use oxvm_difftest::{robust, run_campaign, Class, Config};

fn usage() -> ExitCode {
    eprintln!("usage: oxvm-difftest [--seed S] [--cases N] [--class C]... [--max-report K] [--no-reduce] [--require-all-forms]");
    eprintln!("       oxvm-difftest --robust [--seed S] [--cases N]");
    eprintln!("classes (or the groups `integer` and `fp`): {}", Class::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(" "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut cfg = Config { classes: Vec::new(), ..Config::default() };
    let mut robust_mode = false;
    let mut require_all_forms = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> Option<u64> {
            let v = args.next()?;
            let v = v.trim();
            let r = if let Some(h) = v.strip_prefix("0x") { u64::from_str_radix(h, 16) } else { v.parse() };
            r.map_err(|_| eprintln!("bad number for {what}: {v}")).ok()
        };
        match a.as_str() {
            "--seed" => match num("--seed") {
                Some(v) => cfg.seed = v,
                None => return usage(),
            },
            "--cases" => match num("--cases") {
                Some(v) => cfg.cases = v,
                None => return usage(),
            },
            "--max-report" => match num("--max-report") {
                Some(v) => cfg.max_report = v as usize,
                None => return usage(),
            },
            "--class" => match args.next().as_deref() {
                Some("integer") => cfg.classes.extend(Class::INTEGER),
                Some("strict") => cfg.classes.extend(oxvm_difftest::STRICT_CLASSES),
                Some("fp") => cfg.classes.extend([Class::SseFloat, Class::SseInt, Class::SseMisc, Class::X87, Class::X87Trans, Class::Mmx]),
                Some(name) => match Class::from_name(name) {
                    Some(c) => cfg.classes.push(c),
                    None => return usage(),
                },
                None => return usage(),
            },
            "--no-reduce" => cfg.reduce = false,
            "--require-all-forms" => require_all_forms = true,
            "--robust" => robust_mode = true,
            _ => return usage(),
        }
    }
    if robust_mode {
        let r = robust::run_robust(cfg.seed, cfg.cases);
        for (b, m) in &r.panics {
            println!("PANIC on bytes {}: {m}", oxvm_difftest::compare::hex(b));
        }
        for (b, t) in &r.hangs {
            println!("HANG ({t:.2} s) on bytes {}", oxvm_difftest::compare::hex(b));
        }
        println!(
            "robust: {} cases, {} instructions, {} panics, {} hangs, {:.1} s",
            r.cases,
            r.instructions,
            r.panics.len(),
            r.hangs.len(),
            r.seconds
        );
        return if r.panics.is_empty() && r.hangs.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    if cfg.classes.is_empty() {
        cfg.classes = Class::ALL.to_vec();
    }
    match run_campaign(&cfg) {
        Ok(report) => {
            print!("{}", report.render());
            let uncovered = require_all_forms && report.classes.iter().any(|c| !c.forms_missing.is_empty());
            if uncovered {
                println!("not every instruction form was exercised (see above): raise --cases");
            }
            if report.mismatches() == 0 && !uncovered {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("oxvm-difftest: {e}");
            ExitCode::from(2)
        }
    }
}
