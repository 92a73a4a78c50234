//! The worked examples of the spec (Part W: W1, W4, W4b, W5), which Nix 2.8 produced, and
//! parser round trips and rejections.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::hash::{Algo, Hash};
use crate::store::ca::Method;
use crate::store::path::{StoreDir, StorePath};

const SYSTEM: &str = "x86_64-linux";

/// A derivation as `derivationStrict` assembles it before its outputs: `env` holds the given
/// attributes plus `builder`, `name` and `system`.
fn assembled(name: &str, args: &[&str], env: &[(&str, &str)]) -> Derivation {
    let mut d = Derivation {
        name: name.to_owned(),
        system: SYSTEM.into(),
        builder: b"/bin/sh".to_vec(),
        args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        ..Derivation::default()
    };
    for (k, v) in [("builder", "/bin/sh"), ("name", name), ("system", SYSTEM)]
        .iter()
        .chain(env)
    {
        d.env.insert(k.as_bytes().to_vec(), v.as_bytes().to_vec());
    }
    d
}

fn outs(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Instantiates derivations in turn, recording each one's hash as the evaluator would.
#[derive(Default)]
struct Eval {
    cache: HashCache,
}

impl Eval {
    fn inst(
        &mut self,
        dir: &StoreDir,
        drv: Derivation,
        names: &[&str],
        spec: OutputsSpec,
    ) -> Instantiated {
        let cache = &self.cache;
        let done = instantiate(drv, &outs(names), spec, dir, &mut |p: &StorePath| {
            Ok(cache
                .get(p)
                .cloned()
                .expect("inputs are instantiated first"))
        })
        .unwrap();
        self.cache
            .insert(done.drv_path.clone(), done.hash_input.clone());
        // The text Nix writes reads back as the same derivation and writes the same bytes.
        let name = name_of_drv_path(&done.drv_path).unwrap();
        let back = Derivation::parse(dir, &done.text, name).unwrap();
        assert_eq!(back, done.drv);
        assert_eq!(back.to_aterm(dir), done.text);
        done
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

const W1_ARGS: &[&str] = &[
    "-c",
    "mkdir -p $out/bin; echo 'echo Hello 1' > $out/bin/hello; chmod +x $out/bin/hello",
];

#[test]
fn w1_hello() {
    let dir = StoreDir::default();
    let drv = assembled("hello-1.0", W1_ARGS, &[("PATH", "/usr/bin:/bin")]);
    let mut e = Eval::default();
    let mut masked_input = drv.clone();
    masked_input.outputs.insert("out".into(), Output::Deferred);
    masked_input.env.insert(b"out".to_vec(), Vec::new());
    let masked = masked_aterm(&masked_input, &dir, &mut |_: &StorePath| unreachable!())
        .unwrap()
        .unwrap();
    assert_eq!(
        text(&masked),
        r#"Derive([("out","","","")],[],[],"x86_64-linux","/bin/sh",["-c","mkdir -p $out/bin; echo 'echo Hello 1' > $out/bin/hello; chmod +x $out/bin/hello"],[("PATH","/usr/bin:/bin"),("builder","/bin/sh"),("name","hello-1.0"),("out",""),("system","x86_64-linux")])"#
    );
    assert_eq!(
        Hash::digest(Algo::Sha256, &masked).to_base16(),
        "4605a6b8be575cd8161f27d45a9fb2655ad548b11ad4d0eaffaf01891fdcc562"
    );
    let done = e.inst(&dir, drv.clone(), &["out"], OutputsSpec::InputAddressed);
    assert_eq!(
        text(&done.text),
        r#"Derive([("out","/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0","","")],[],[],"x86_64-linux","/bin/sh",["-c","mkdir -p $out/bin; echo 'echo Hello 1' > $out/bin/hello; chmod +x $out/bin/hello"],[("PATH","/usr/bin:/bin"),("builder","/bin/sh"),("name","hello-1.0"),("out","/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0"),("system","x86_64-linux")])"#
    );
    assert_eq!(
        Hash::digest(Algo::Sha256, &done.text).to_base16(),
        "c922e1c608932014a7e195cfda2fd393d54c3f9daca86118e4d2644c4619457e"
    );
    assert_eq!(
        dir.print(&done.drv_path),
        "/nix/store/3c6al3bimhrqfl27i6d79gcjsfgzc8fy-hello-1.0.drv"
    );
    // The input hash of a derivation without inputs is the sha256 of its text.
    assert_eq!(
        done.hash_input,
        HashInput::Drv(Hash::digest(Algo::Sha256, &done.text))
    );

    // Version 2 of the flake.
    let v2 = assembled(
        "hello-2.0",
        &[
            "-c",
            "mkdir -p $out/bin; echo 'echo Hello 2' > $out/bin/hello; chmod +x $out/bin/hello",
        ],
        &[("PATH", "/usr/bin:/bin")],
    );
    let done = e.inst(&dir, v2, &["out"], OutputsSpec::InputAddressed);
    assert_eq!(
        dir.print(&done.drv_path),
        "/nix/store/rcmjq5ay6qiq5vdm9h1licgd2hxb2miv-hello-2.0.drv"
    );
    assert_eq!(
        dir.print(done.drv.outputs["out"].path().unwrap()),
        "/nix/store/7jmkaskp24lf4f12jnzm09mzdx43j359-hello-2.0"
    );

    // The store directory takes part in every hash.
    let mnt = StoreDir::new("/mnt/store");
    let done = e.inst(&mnt, drv, &["out"], OutputsSpec::InputAddressed);
    assert_eq!(
        mnt.print(&done.drv_path),
        "/mnt/store/d87dmf53c5bz5hz7ksp7qwpvc0hdrjr2-hello-1.0.drv"
    );
    assert_eq!(
        mnt.print(done.drv.outputs["out"].path().unwrap()),
        "/mnt/store/n9alkydc7c7zjq55c47ky5yq3zy7zy9i-hello-1.0"
    );
}

const FOD_HEX: &str = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";

/// W4's `dep` and `fixed.txt`.
fn w4_inputs(dir: &StoreDir, e: &mut Eval) -> (Instantiated, Instantiated) {
    let dep = e.inst(
        dir,
        assembled("dep", &["-c", "echo dep > $out"], &[]),
        &["out"],
        OutputsSpec::InputAddressed,
    );
    let fod = e.inst(
        dir,
        assembled(
            "fixed.txt",
            &["-c", "printf hi > $out"],
            &[
                ("outputHash", FOD_HEX),
                ("outputHashAlgo", "sha256"),
                ("outputHashMode", "flat"),
            ],
        ),
        &["out"],
        OutputsSpec::Fixed {
            method: Method::Flat,
            hash: Hash::parse_bare(FOD_HEX, Algo::Sha256).unwrap(),
        },
    );
    (dep, fod)
}

#[test]
fn w4_dependencies_fod_source_two_outputs() {
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let script = Hash::digest(
        Algo::Sha256,
        b"mkdir -p $out/bin $dev/include\ncat $dep $fod > $out/data\necho \"#define X 1\" > $dev/include/x.h\n",
    );
    let script = dir.make_text_path(&script, "build.sh", &[]).unwrap();
    assert_eq!(
        dir.print(&script),
        "/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"
    );
    let (dep, fod) = w4_inputs(&dir, &mut e);
    let dep_out = dir.print(dep.drv.outputs["out"].path().unwrap());
    let fod_out = dir.print(fod.drv.outputs["out"].path().unwrap());
    assert_eq!(
        dir.print(&dep.drv_path),
        "/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv"
    );
    assert_eq!(dep_out, "/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep");
    assert_eq!(
        dep.hash_input,
        HashInput::Drv(
            Hash::parse_bare(
                "3d3a476d95e958c9d72c8e075141eb390c0c358a9a563142c54cb5b27ac8c041",
                Algo::Sha256
            )
            .unwrap()
        )
    );
    assert_eq!(
        fod_out,
        "/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt"
    );
    assert_eq!(
        dir.print(&fod.drv_path),
        "/nix/store/jnf0irfbi42ms5m1dkpja9iwg372ss7b-fixed.txt.drv"
    );
    let fod_hash = Hash::parse_bare(
        "2b14e278737a616cff9dec4bbaf310f10b4d0a9672afde5e2bfe6b37a9e0f904",
        Algo::Sha256,
    )
    .unwrap();
    assert_eq!(
        fod.hash_input,
        HashInput::Fixed(BTreeMap::from([("out".to_owned(), fod_hash)]))
    );

    let script_s = dir.print(&script);
    let mut multi = assembled(
        "multi-1.0",
        &[&script_s],
        &[
            ("PATH", "/usr/bin:/bin"),
            ("dep", &dep_out),
            ("fod", &fod_out),
            ("outputs", "out dev"),
        ],
    );
    multi.input_srcs.insert(script.clone());
    for d in [&dep, &fod] {
        multi.input_drvs.insert(d.drv_path.clone(), outs(&["out"]));
    }
    let done = e.inst(&dir, multi, &["out", "dev"], OutputsSpec::InputAddressed);
    let cache = &e.cache;
    let masked = masked_aterm(&done.drv, &dir, &mut |p: &StorePath| {
        Ok(cache.get(p).cloned().unwrap())
    })
    .unwrap()
    .unwrap();
    assert_eq!(
        text(&masked),
        r#"Derive([("dev","","",""),("out","","","")],[("2b14e278737a616cff9dec4bbaf310f10b4d0a9672afde5e2bfe6b37a9e0f904",["out"]),("3d3a476d95e958c9d72c8e075141eb390c0c358a9a563142c54cb5b27ac8c041",["out"])],["/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"],"x86_64-linux","/bin/sh",["/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"],[("PATH","/usr/bin:/bin"),("builder","/bin/sh"),("dep","/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"),("dev",""),("fod","/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt"),("name","multi-1.0"),("out",""),("outputs","out dev"),("system","x86_64-linux")])"#
    );
    assert_eq!(
        Hash::digest(Algo::Sha256, &masked).to_base16(),
        "7604f78471d478784940c686efe5ceec16295794a4e6682e09e80641ba42e096"
    );
    assert_eq!(
        text(&done.text),
        r#"Derive([("dev","/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev","",""),("out","/nix/store/xh5zg2403bira7krv27pk64p3byka7ln-multi-1.0","","")],[("/nix/store/jnf0irfbi42ms5m1dkpja9iwg372ss7b-fixed.txt.drv",["out"]),("/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv",["out"])],["/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"],"x86_64-linux","/bin/sh",["/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"],[("PATH","/usr/bin:/bin"),("builder","/bin/sh"),("dep","/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-dep"),("dev","/nix/store/73dpqj4s29pgv30yqq8spb6xyksk73b0-multi-1.0-dev"),("fod","/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt"),("name","multi-1.0"),("out","/nix/store/xh5zg2403bira7krv27pk64p3byka7ln-multi-1.0"),("outputs","out dev"),("system","x86_64-linux")])"#
    );
    assert_eq!(
        dir.print(&done.drv_path),
        "/nix/store/6n4an09iyw7y2yalvyz0hgykv1qlfr98-multi-1.0.drv"
    );
    let refs: Vec<String> = done.drv.references().iter().map(|p| dir.print(p)).collect();
    assert_eq!(refs.len(), 3);

    // Reading the `.drv` files back, a fresh cache recomputes the same hashes.
    let files: BTreeMap<StorePath, Vec<u8>> = [&dep, &fod, &done]
        .iter()
        .map(|i| (i.drv_path.clone(), i.text.clone()))
        .collect();
    let mut fresh = HashCache::new();
    let mut load = |p: &StorePath| -> Result<Derivation, LoadError> {
        let name = name_of_drv_path(p).ok_or("not a derivation")?;
        Ok(Derivation::parse(
            &dir,
            files.get(p).ok_or("missing")?,
            name,
        )?)
    };
    let h = fresh.get_or_load(&dir, &done.drv_path, &mut load).unwrap();
    assert_eq!(h, done.hash_input);
    let read = Derivation::parse(&dir, &done.text, "multi-1.0").unwrap();
    check_output_paths(&read, &dir, &mut fresh.with_loader(&dir, &mut load)).unwrap();
}

#[test]
fn w4b_input_hashes_sort_by_hash() {
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let p = e.inst(
        &dir,
        assembled("p-a", &["-c", "echo p > $out"], &[]),
        &["out"],
        OutputsSpec::InputAddressed,
    );
    let q = e.inst(
        &dir,
        assembled("q-a", &["-c", "echo q > $out"], &[]),
        &["out"],
        OutputsSpec::InputAddressed,
    );
    assert_eq!(
        dir.print(&q.drv_path),
        "/nix/store/arhhdpllsd414kgvzxs8042ljlk1cfi7-q-a.drv"
    );
    assert_eq!(
        dir.print(&p.drv_path),
        "/nix/store/nklhmsknd9xyx6cz9mzgdm1skvq1i3s4-p-a.drv"
    );
    let p_out = dir.print(p.drv.outputs["out"].path().unwrap());
    let q_out = dir.print(q.drv.outputs["out"].path().unwrap());
    assert_eq!(p_out, "/nix/store/1nshpldqhwj27fnxssqj6xyb6v88jk4x-p-a");
    assert_eq!(q_out, "/nix/store/vqykynf7qpa057r1qkbxarw8n45f8jqi-q-a");
    let mut top = assembled(
        "top",
        &["-c", "cat $p $q > $out"],
        &[("p", &p_out), ("q", &q_out)],
    );
    for d in [&p, &q] {
        top.input_drvs.insert(d.drv_path.clone(), outs(&["out"]));
    }
    let done = e.inst(&dir, top, &["out"], OutputsSpec::InputAddressed);
    let cache = &e.cache;
    let masked = masked_aterm(&done.drv, &dir, &mut |p: &StorePath| {
        Ok(cache.get(p).cloned().unwrap())
    })
    .unwrap()
    .unwrap();
    assert_eq!(
        text(&masked),
        r#"Derive([("out","","","")],[("ca3a0d0b50c84e91ab8a2132a410808c0ef16e44df25b5cae95d485abfbbbe35",["out"]),("df3c53d459ef5f6ab068ef641100c8c63f48bb2acfb16164b3234d69b4f8f3e2",["out"])],[],"x86_64-linux","/bin/sh",["-c","cat $p $q > $out"],[("builder","/bin/sh"),("name","top"),("out",""),("p","/nix/store/1nshpldqhwj27fnxssqj6xyb6v88jk4x-p-a"),("q","/nix/store/vqykynf7qpa057r1qkbxarw8n45f8jqi-q-a"),("system","x86_64-linux")])"#
    );
    assert_eq!(
        Hash::digest(Algo::Sha256, &masked).to_base16(),
        "280e2b23ccddb46e1f2a2c548b984b9f6f025d5b6f1dc4da161c165c458cef94"
    );
    assert_eq!(
        dir.print(done.drv.outputs["out"].path().unwrap()),
        "/nix/store/c8d7x254piykdcgb6ygkmadrn83dfvb3-top"
    );
    assert_eq!(
        dir.print(&done.drv_path),
        "/nix/store/9p4gcimdi9diahi8x6xmv663kbi889cb-top.drv"
    );
    // In the stored `.drv`, path order: q-a (arhh…) before p-a (nklh…).
    let t = text(&done.text);
    assert!(t.find("arhhdpll").unwrap() < t.find("nklhmskn").unwrap());
}

#[test]
fn w5_recursive_fod_and_ca_floating() {
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let sri = "sha256-IlLUt4yU6Mes5OMxe3i9/mS8jjlwpk620vfCpEPAw/w=";
    let fodr = e.inst(
        &dir,
        assembled(
            "fodr",
            &["-c", "printf hi > $out"],
            &[
                ("outputHash", sri),
                ("outputHashAlgo", "sha256"),
                ("outputHashMode", "recursive"),
            ],
        ),
        &["out"],
        OutputsSpec::Fixed {
            method: Method::Recursive,
            hash: Hash::parse_sri(sri).unwrap(),
        },
    );
    assert!(text(&fodr.text).starts_with(r#"Derive([("out","/nix/store/kjfv0rgcmlhnrlv96r0an29g66pldmjr-fodr","r:sha256","2252d4b78c94e8c7ace4e3317b78bdfe64bc8e3970a64eb6d2f7c2a443c0c3fc")],"#));
    assert_eq!(fodr.drv.env_var("outputHash"), Some(sri.as_bytes()));
    assert_eq!(
        fodr.drv.env_var("out"),
        Some(&b"/nix/store/kjfv0rgcmlhnrlv96r0an29g66pldmjr-fodr"[..])
    );

    let ca = e.inst(
        &dir,
        assembled(
            "ca-thing",
            &["-c", "echo hi > $out"],
            &[
                ("outputHashAlgo", "sha256"),
                ("outputHashMode", "recursive"),
            ],
        ),
        &["out"],
        OutputsSpec::Floating {
            method: Method::Recursive,
            algo: Algo::Sha256,
        },
    );
    assert_eq!(
        text(&ca.text),
        r#"Derive([("out","","r:sha256","")],[],[],"x86_64-linux","/bin/sh",["-c","echo hi > $out"],[("builder","/bin/sh"),("name","ca-thing"),("out","/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"),("outputHashAlgo","sha256"),("outputHashMode","recursive"),("system","x86_64-linux")])"#
    );
    assert_eq!(
        dir.print(&ca.drv_path),
        "/nix/store/bfabdzjainpbcrzwzzvjc8lh81dl9mwz-ca-thing.drv"
    );
    assert_eq!(ca.hash_input, HashInput::Deferred);

    // A dependent of a floating derivation is deferred: its outputs have no paths yet.
    let mut user = assembled("user", &["-c", "cat $ca > $out"], &[("ca", "/1rz4")]);
    user.input_drvs.insert(ca.drv_path.clone(), outs(&["out"]));
    let done = e.inst(&dir, user, &["out", "lib"], OutputsSpec::InputAddressed);
    assert!(text(&done.text).starts_with(r#"Derive([("lib","","",""),("out","","","")],"#));
    assert_eq!(done.drv.env_var("out"), Some(&b""[..]));
    assert_eq!(done.hash_input, HashInput::Deferred);
}

#[test]
fn escapes_round_trip() {
    let dir = StoreDir::default();
    let value = "quote \" backslash \\ newline \n cr \r tab \t unicode é ☃ dollar $ nul-free";
    let mut e = Eval::default();
    let done = e.inst(
        &dir,
        assembled("esc", &[value, ""], &[(value, value), ("", "empty key")]),
        &["out"],
        OutputsSpec::InputAddressed,
    );
    let t = text(&done.text);
    assert!(t.contains(
        r#""quote \" backslash \\ newline \n cr \r tab \t unicode é ☃ dollar $ nul-free""#
    ));
    assert!(!t.contains('\n'));
}

#[test]
fn fixed_output_kinds() {
    let dir = StoreDir::default();
    let sha1 = Hash::digest(Algo::Sha1, b"hi");
    let sha512 = Hash::digest(Algo::Sha512, b"hi");
    let sha256 = Hash::digest(Algo::Sha256, b"hi");
    let cases = [
        (Method::Flat, &sha1, "sha1"),
        (Method::Recursive, &sha512, "r:sha512"),
        (Method::Text, &sha256, "text:sha256"),
        (Method::Git, &sha1, "git:sha1"),
    ];
    for (method, hash, field) in cases {
        let mut e = Eval::default();
        let done = e.inst(
            &dir,
            assembled("f", &[], &[]),
            &["out"],
            OutputsSpec::Fixed {
                method,
                hash: hash.clone(),
            },
        );
        let t = text(&done.text);
        let expected = format!(r#"","{field}","{}")]"#, hash.to_base16());
        assert!(t.contains(&expected), "{field}: {t}");
    }
    let bad = instantiate(
        assembled("f", &[], &[]),
        &outs(&["out"]),
        OutputsSpec::Fixed {
            method: Method::Text,
            hash: sha1.clone(),
        },
        &dir,
        &mut |_: &StorePath| unreachable!(),
    );
    assert!(matches!(bad, Err(Error::MethodAlgo { .. })));
    let bad = instantiate(
        assembled("f", &[], &[]),
        &outs(&["out", "dev"]),
        OutputsSpec::Fixed {
            method: Method::Flat,
            hash: sha1,
        },
        &dir,
        &mut |_: &StorePath| unreachable!(),
    );
    assert_eq!(
        bad.unwrap_err().to_string(),
        "multiple outputs are not supported in fixed-output derivations"
    );
    assert!(matches!(
        check_drv_suffix("x.drv", None, &outs(&["out"])),
        Err(Error::DrvSuffix)
    ));
    check_drv_suffix("x.drv", Some(Method::Text), &outs(&["out"])).unwrap();
    assert!(check_drv_suffix("x.drv", Some(Method::Text), &outs(&["out", "b"])).is_err());
}

#[test]
fn impure_outputs() {
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let done = e.inst(
        &dir,
        assembled("imp", &[], &[]),
        &["out"],
        OutputsSpec::Impure {
            method: Method::Recursive,
            algo: Algo::Sha256,
        },
    );
    assert!(text(&done.text).starts_with(r#"Derive([("out","","r:sha256","impure")],"#));
    assert_eq!(done.hash_input, HashInput::Deferred);
}

#[test]
fn parse_rejections() {
    let dir = StoreDir::default();
    let good = r#"Derive([("out","/nix/store/110wni8ja3mn5bfyakpvaqmrjdb9b85p-hello-1.0","","")],[],[],"x86_64-linux","/bin/sh",["-c"],[("a","b")])"#;
    Derivation::parse(&dir, good.as_bytes(), "hello-1.0").unwrap();
    let cases: &[(&str, ParseErrorKind, usize)] = &[
        ("", ParseErrorKind::NotDerive, 0),
        ("Derivx", ParseErrorKind::NotDerive, 0),
        (
            r#"DrvWithVersion("xp-dyn-drv",[])"#,
            ParseErrorKind::Versioned,
            0,
        ),
        ("Derive(", ParseErrorKind::Expected("["), 7),
        ("Derive([", ParseErrorKind::Expected("("), 8),
        (r#"Derive([("out"#, ParseErrorKind::Unterminated, 10),
        (r#"Derive([("out\"#, ParseErrorKind::Unterminated, 10),
        (
            r#"Derive([("o\"ut","","","")"#,
            ParseErrorKind::EscapeInRawField("o\"ut".into()),
            9,
        ),
        (
            r#"Derive([("out","","md6","")"#,
            ParseErrorKind::BadAlgo("md6".into()),
            15,
        ),
        (
            r#"Derive([("out","/x","sha256","impure")"#,
            ParseErrorKind::ImpureWithPath,
            15,
        ),
        (
            r#"Derive([("out","/x","r:sha256","")"#,
            ParseErrorKind::FloatingWithPath,
            15,
        ),
        (
            r#"Derive([("out","/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt","sha256","8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4")"#,
            ParseErrorKind::FixedPathMismatch {
                output: "out".into(),
                path: "/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt".into(),
            },
            15,
        ),
        (
            r#"Derive([],[("/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv",[])"#,
            ParseErrorKind::NoInputOutputs(
                "/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv".into(),
            ),
            12,
        ),
        (
            r#"Derive([],[],[],"s","b",[],[])x"#,
            ParseErrorKind::Trailing,
            30,
        ),
        (
            r#"Derive([],[],[,"/nix/store/x"],"s","b",[],[])"#,
            ParseErrorKind::Expected("\""),
            14,
        ),
        (
            r#"Derive([],[],[],"s","b",["a""b"],[])"#,
            ParseErrorKind::Expected("]"),
            28,
        ),
    ];
    for (input, kind, offset) in cases {
        let e = Derivation::parse(&dir, input.as_bytes(), "hello-1.0").unwrap_err();
        assert_eq!((&e.kind, e.offset), (kind, *offset), "{input}");
    }
    // A path outside the store, and a bad hash.
    let e = Derivation::parse(&dir, br#"Derive([],[],["/tmp/x"],"s","b",[],[])"#, "x").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadPath(_)), "{e}");
    let e = Derivation::parse(
        &dir,
        br#"Derive([("out","/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt","sha256","zz")"#,
        "fixed.txt",
    )
    .unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadHash(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "hash 'zz' has wrong length for hash algorithm 'sha256' at byte 15 of the derivation"
    );
}

#[test]
fn parse_accepts_what_nix_accepts() {
    let dir = StoreDir::default();
    // Superfluous escapes, raw control characters, unsorted entries, duplicate keys (the last
    // wins), a nix32 fixed hash: read as Nix reads them, written in Nix's form.
    let input = "Derive([(\"out\",\"\",\"\",\"\")],[],[],\"s\",\"\\b\\u\",[\"a\tb\"],[(\"z\",\"1\"),(\"a\",\"x\\y\"),(\"z\",\"2\")])";
    let d = Derivation::parse(&dir, input.as_bytes(), "x").unwrap();
    assert_eq!(d.builder, b"bu");
    assert_eq!(d.env_var("z"), Some(&b"2"[..]));
    assert_eq!(
        text(&d.to_aterm(&dir)),
        r#"Derive([("out","","","")],[],[],"s","bu",["a\tb"],[("a","xy"),("z","2")])"#
    );
    let flat = Hash::parse_bare(FOD_HEX, Algo::Sha256).unwrap();
    let nix32 = format!(
        r#"Derive([("out","/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt","sha256","{}")],[],[],"s","b",[],[])"#,
        flat.to_nix32()
    );
    let d = Derivation::parse(&dir, nix32.as_bytes(), "fixed.txt").unwrap();
    assert!(text(&d.to_aterm(&dir)).contains(FOD_HEX));
}

#[test]
fn hash_cache_rejects_cycles() {
    let dir = StoreDir::default();
    let a = dir
        .parse("/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-a.drv")
        .unwrap();
    let mut d = assembled("a", &[], &[]);
    d.outputs.insert(
        "out".into(),
        Output::InputAddressed(
            dir.parse("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-a")
                .unwrap(),
        ),
    );
    d.input_drvs.insert(a.clone(), outs(&["out"]));
    let mut cache = HashCache::new();
    let e = cache
        .get_or_load(&dir, &a, &mut |_: &StorePath| Ok(d.clone()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "derivation '/nix/store/p2qkh6lklg7zljx468xsl3gwif574nq4-a.drv' depends on itself"
    );
    // A long chain is hashed without recursion.
    let mut cache = HashCache::new();
    let n = 20_000usize;
    let path = |i: usize| {
        let h = Hash::digest(Algo::Sha256, &i.to_le_bytes());
        let mut b = [0u8; 20];
        b.copy_from_slice(&h.compress(20));
        StorePath::from_hash(&b, "c.drv").unwrap()
    };
    let index: std::collections::HashMap<StorePath, usize> = (0..n).map(|i| (path(i), i)).collect();
    let out = dir
        .parse("/nix/store/z4asv3j07d89ywjf8fxkn7sg6mf5s9q5-c")
        .unwrap();
    let h = cache.get_or_load(&dir, &path(0), &mut |p: &StorePath| {
        let i = *index.get(p).ok_or("unknown")?;
        let mut d = assembled("c", &[], &[]);
        d.outputs
            .insert("out".into(), Output::InputAddressed(out.clone()));
        if i + 1 < n {
            d.input_drvs.insert(path(i + 1), outs(&["out"]));
        }
        Ok(d)
    });
    assert!(matches!(h, Ok(HashInput::Drv(_))));
}

#[test]
fn equal_input_hashes_merge() {
    // Two fetches of the same content differ in their `.drv` but not as inputs, and neither
    // do derivations that differ only in which of them they use: a derivation using one
    // output of each such derivation lists the shared hash once, with both outputs.
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let hash = Hash::digest(Algo::Sha256, b"hi");
    let mut mids = Vec::new();
    for how in ["curl", "wget"] {
        let fod = e.inst(
            &dir,
            assembled("src", &["-c", how], &[]),
            &["out"],
            OutputsSpec::Fixed {
                method: Method::Flat,
                hash: hash.clone(),
            },
        );
        let src_out = dir.print(fod.drv.outputs["out"].path().unwrap());
        let mut mid = assembled("mid", &["-c", "true"], &[("src", &src_out)]);
        mid.input_drvs.insert(fod.drv_path.clone(), outs(&["out"]));
        mids.push(e.inst(&dir, mid, &["out", "dev"], OutputsSpec::InputAddressed));
    }
    assert_ne!(mids[0].drv_path, mids[1].drv_path);
    assert_eq!(mids[0].drv.outputs, mids[1].drv.outputs);
    assert_eq!(mids[0].hash_input, mids[1].hash_input);
    let HashInput::Drv(h) = &mids[0].hash_input else {
        panic!("input-addressed")
    };
    let mut top = assembled("top", &[], &[]);
    top.input_drvs
        .insert(mids[0].drv_path.clone(), outs(&["out"]));
    top.input_drvs
        .insert(mids[1].drv_path.clone(), outs(&["dev"]));
    let cache = &e.cache;
    let mut top_masked = top.clone();
    top_masked.outputs.insert("out".into(), Output::Deferred);
    let masked = masked_aterm(&top_masked, &dir, &mut |p: &StorePath| {
        Ok(cache.get(p).cloned().unwrap())
    })
    .unwrap()
    .unwrap();
    let expected = format!(
        r#"Derive([("out","","","")],[("{}",["dev","out"])],[],"#,
        h.to_base16()
    );
    assert!(text(&masked).starts_with(&expected), "{}", text(&masked));
}

#[test]
fn json_format_4() {
    let dir = StoreDir::default();
    let mut e = Eval::default();
    let (dep, fod) = w4_inputs(&dir, &mut e);
    let ca = e.inst(
        &dir,
        assembled("ca", &[], &[]),
        &["out", "lib"],
        OutputsSpec::Floating {
            method: Method::Recursive,
            algo: Algo::Sha256,
        },
    );
    let mut structured = assembled(
        "s",
        &["-c", "true"],
        &[("__json", r#"{"a":[1,"x"],"b":{"c":null}}"#)],
    );
    structured
        .input_drvs
        .insert(dep.drv_path.clone(), outs(&["out"]));
    structured.input_srcs.insert(
        dir.parse("/nix/store/qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh")
            .unwrap(),
    );
    let structured = e.inst(&dir, structured, &["out"], OutputsSpec::InputAddressed);
    let shown = json::show([
        (fod.drv_path.base_name(), &fod.drv),
        (ca.drv_path.base_name(), &ca.drv),
        (structured.drv_path.base_name(), &structured.drv),
    ]);
    let s_out = structured.drv.outputs["out"].path().unwrap().base_name();
    let expected = serde_json::json!({
        "version": 4,
        "derivations": {
            "jnf0irfbi42ms5m1dkpja9iwg372ss7b-fixed.txt.drv": {
                "args": ["-c", "printf hi > $out"],
                "builder": "/bin/sh",
                "env": {
                    "builder": "/bin/sh",
                    "name": "fixed.txt",
                    "out": "/nix/store/gn9iqvw0n573b1isk9aw9dm4815zzhfg-fixed.txt",
                    "outputHash": FOD_HEX,
                    "outputHashAlgo": "sha256",
                    "outputHashMode": "flat",
                    "system": "x86_64-linux"
                },
                "inputs": { "drvs": {}, "srcs": [] },
                "name": "fixed.txt",
                "outputs": {
                    "out": {
                        "hash": "sha256-j0NDRmSPa5bfid2pAcUXaxCm2Dlh3TwayItZstwyeqQ=",
                        "method": "flat"
                    }
                },
                "system": "x86_64-linux",
                "version": 4
            },
            ca.drv_path.base_name(): {
                "args": [],
                "builder": "/bin/sh",
                "env": {
                    "builder": "/bin/sh",
                    "lib": placeholder("lib"),
                    "name": "ca",
                    "out": placeholder("out"),
                    "system": "x86_64-linux"
                },
                "inputs": { "drvs": {}, "srcs": [] },
                "name": "ca",
                "outputs": {
                    "lib": { "hashAlgo": "sha256", "method": "nar" },
                    "out": { "hashAlgo": "sha256", "method": "nar" }
                },
                "system": "x86_64-linux",
                "version": 4
            },
            structured.drv_path.base_name(): {
                "args": ["-c", "true"],
                "builder": "/bin/sh",
                "env": {
                    "builder": "/bin/sh",
                    "name": "s",
                    "out": format!("/nix/store/{s_out}"),
                    "system": "x86_64-linux"
                },
                "inputs": {
                    "drvs": {
                        "p2qkh6lklg7zljx468xsl3gwif574nq4-dep.drv": {
                            "dynamicOutputs": {},
                            "outputs": ["out"]
                        }
                    },
                    "srcs": ["qs1kynlcnsgkh0hrwgiwv09lgp9lmynr-build.sh"]
                },
                "name": "s",
                "outputs": { "out": { "path": s_out } },
                "structuredAttrs": { "a": [1, "x"], "b": { "c": null } },
                "system": "x86_64-linux",
                "version": 4
            }
        }
    });
    assert_eq!(shown, expected);
    // Keys are sorted, as in Nix's output.
    let printed = serde_json::to_string(&shown).unwrap();
    assert!(printed.starts_with(r#"{"derivations":{"#), "{printed}");
    assert!(printed.ends_with(r#""version":4}"#), "{printed}");
}

#[test]
fn output_hash_attributes() {
    for (mode, m) in [
        ("flat", Method::Flat),
        ("recursive", Method::Recursive),
        ("nar", Method::Recursive),
        ("text", Method::Text),
        ("git", Method::Git),
    ] {
        assert_eq!(parse_hash_mode(mode).unwrap(), m);
    }
    assert_eq!(
        parse_hash_mode("Flat").unwrap_err().to_string(),
        "invalid value 'Flat' for 'outputHashMode' attribute"
    );
    let h = Hash::parse_bare(FOD_HEX, Algo::Sha256).unwrap();
    for written in [
        FOD_HEX.to_owned(),
        h.to_nix32(),
        h.to_base64(),
        h.to_sri(),
        format!("sha256:{}", h.to_nix32()),
    ] {
        assert_eq!(
            parse_output_hash(&written, Some(Algo::Sha256)).unwrap(),
            (h.clone(), None),
            "{written}"
        );
    }
    assert_eq!(parse_output_hash(&h.to_sri(), None).unwrap().0, h);
    let (zero, warning) = parse_output_hash("", Some(Algo::Sha256)).unwrap();
    assert_eq!(zero, Hash::zero(Algo::Sha256));
    assert_eq!(
        warning.unwrap(),
        "found empty hash, assuming 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='"
    );
    let errors = [
        (
            "",
            None,
            "empty hash requires explicit hash algorithm".to_owned(),
        ),
        (
            FOD_HEX,
            None,
            format!(
                "hash '{FOD_HEX}' does not include a type, nor is the type otherwise known from context"
            ),
        ),
        (
            "sha1-aGk=",
            Some(Algo::Sha256),
            "hash 'sha1-aGk=' should have type 'sha256'".to_owned(),
        ),
    ];
    for (written, algo, msg) in errors {
        assert_eq!(
            parse_output_hash(written, algo).unwrap_err().to_string(),
            msg
        );
    }
}
