//! The same archives fetched by Nix 2.8 and by rflake give the same store path and NAR hash.
//! Only single-top-directory archives are compared: Nix 2.8 refuses several top-level entries
//! and computes `lastModified` differently (spec §7.5.4), so `locked` is not compared.

use std::io::Write as _;

use super::{SAMPLE_HASH, SAMPLE_PATH, gzip, sample_tar};
use crate::support::{Differential, HttpServer, Response};

fn compressed(how: &str) -> Vec<u8> {
    let tar = sample_tar();
    match how {
        "tar" => tar,
        "tar.gz" => gzip(&tar),
        "tar.xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&tar).unwrap();
            e.finish().unwrap()
        }
        "tar.bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(&tar).unwrap();
            e.finish().unwrap()
        }
        "tar.zst" => zstd::encode_all(&tar[..], 3).unwrap(),
        _ => unreachable!(),
    }
}

/// A zip of the sample tree without its symlink (Nix 2.8 reads zip symlinks wrongly when
/// streaming, NixOS/nix#10649).
fn sample_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = |mode| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode)
    };
    w.add_directory("proj/", opts(0o755)).unwrap();
    w.start_file("proj/README", opts(0o644)).unwrap();
    w.write_all(b"hello\n").unwrap();
    w.add_directory("proj/bin/", opts(0o755)).unwrap();
    w.start_file("proj/bin/run", opts(0o755)).unwrap();
    w.write_all(b"#!/bin/sh\necho hi\n").unwrap();
    w.add_directory("proj/empty/", opts(0o755)).unwrap();
    w.finish().unwrap().into_inner()
}

fn store_path_and_hash(out: &crate::support::CommandOutput) -> (String, String) {
    assert!(out.success(), "{out}");
    let json: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    (
        json["storePath"].as_str().unwrap().to_owned(),
        json["hash"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn nix_2_8_gets_the_same_store_paths() {
    let Some(diff) = Differential::new() else {
        return;
    };
    let server = HttpServer::start();
    let mut archives: Vec<(String, Vec<u8>)> = ["tar", "tar.gz", "tar.xz", "tar.bz2", "tar.zst"]
        .iter()
        .map(|ext| (format!("/sample.{ext}"), compressed(ext)))
        .collect();
    archives.push(("/sample.zip".to_owned(), sample_zip()));
    for (path, bytes) in &archives {
        server.route(path, Response::ok(bytes.clone()));
    }
    for (path, _) in &archives {
        let url = server.url(path);
        let outputs = diff.run_each(&["flake", "prefetch", "--json", &url]);
        let nix = store_path_and_hash(&outputs[0]);
        if path.ends_with(".zip") {
            assert_ne!(nix.1, SAMPLE_HASH, "the zip has no symlink");
        } else {
            assert_eq!(
                nix,
                (SAMPLE_PATH.to_owned(), SAMPLE_HASH.to_owned()),
                "{path}"
            );
        }
        if let Some(rflake) = outputs.get(1) {
            assert_eq!(store_path_and_hash(rflake), nix, "{path}");
        }
    }
}
