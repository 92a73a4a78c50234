# The module system of a nixpkgs lib, as a service configuration would use it: called with the
# lib (`import ./evalmodules.nix { lib = import LIB; }`), it evaluates twenty-odd options over
# six modules and returns what a user would look at, compared by nixpkgs_lib.sh with
# evalmodules.json. It covers: option types (int, str, bool, enum, port, listOf, attrsOf,
# nullOr, either, submodule, attrsOf submodule, lines, package-free types only), `mkIf`,
# `mkMerge`, `mkOverride`, `mkDefault`, `mkForce`, `mkBefore`/`mkAfter`, `imports`, module
# arguments (`config`, `options`, `_module.args`), defaults that read other options,
# `assertions` the way NixOS checks them, `options.X.isDefined`/`highestPrio`/`files`, and
# type errors and missing definitions caught by `tryEval`.
{ lib }:
let
  inherit (lib) mkOption mkIf mkMerge mkOverride mkDefault mkForce mkBefore mkAfter types;

  # Module 1: declarations.
  declare = { config, ... }: {
    options = {
      services.web = {
        enable = mkOption { type = types.bool; default = false; };
        port = mkOption { type = types.port; default = 80; };
        hostName = mkOption { type = types.str; default = "localhost"; };
        url = mkOption {
          type = types.str;
          default = "http://${config.services.web.hostName}:${toString config.services.web.port}";
        };
        mode = mkOption { type = types.enum [ "dev" "prod" ]; default = "dev"; };
        extraConfig = mkOption { type = types.lines; default = ""; };
        workers = mkOption { type = types.nullOr types.int; default = null; };
        limit = mkOption { type = types.either types.int types.str; default = 1; };
        vhosts = mkOption {
          default = { };
          type = types.attrsOf (types.submodule ({ name, config, ... }: {
            options = {
              root = mkOption { type = types.str; default = "/srv/${name}"; };
              aliases = mkOption { type = types.listOf types.str; default = [ ]; };
              tls = mkOption { type = types.bool; default = false; };
              scheme = mkOption { type = types.str; readOnly = true; default = if config.tls then "https" else "http"; };
            };
          }));
        };
        user = mkOption {
          default = { };
          type = types.submodule {
            options.name = mkOption { type = types.str; default = "web"; };
            options.groups = mkOption { type = types.listOf types.str; default = [ "web" ]; };
          };
        };
      };
      env = mkOption { type = types.attrsOf types.str; default = { }; };
      packages = mkOption { type = types.listOf types.str; default = [ ]; };
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };

  # Module 2: a service module, active only when enabled (mkIf), contributing to shared options.
  service = { config, ... }:
    let cfg = config.services.web; in
    {
      config = mkIf cfg.enable (mkMerge [
        {
          packages = [ "web-server" ];
          env.WEB_PORT = toString cfg.port;
          assertions = [
            { assertion = cfg.port != 0; message = "services.web.port must not be 0"; }
            { assertion = cfg.mode == "prod" -> cfg.workers != null; message = "prod needs workers"; }
          ];
        }
        (mkIf (cfg.mode == "prod") {
          services.web.extraConfig = mkAfter "log = quiet";
          packages = mkBefore [ "monitoring" ];
        })
        (mkIf (cfg.mode == "dev") { env.DEBUG = "1"; })
      ]);
    };

  # Module 3: defaults of a profile, overridable (mkDefault, mkOverride).
  profile = {
    services.web.port = mkDefault 8080;
    services.web.hostName = mkOverride 900 "profile.example";
    services.web.user.groups = [ "wheel" ];
    env.LANG = mkDefault "C";
  };

  # Module 4: the user's configuration, imported through `imports`.
  user = { imports = [ userInner ]; };
  userInner = { config, ... }: {
    services.web = {
      enable = true;
      mode = "prod";
      workers = 4;
      hostName = "example.org";
      extraConfig = "listen = all";
      vhosts."a.example".aliases = [ "www.a.example" ];
      vhosts."b.example" = { tls = true; root = "/data/b"; };
      limit = "unlimited";
    };
    env.LANG = "en_US.UTF-8";
    packages = [ "editor" ];
  };

  # Module 5: a forced value beats every other priority, and a module argument from _module.args.
  forced = { site, ... }: {
    _module.args.site = "main";
    services.web.port = mkForce 443;
    services.web.vhosts."a.example".root = mkIf (site == "main") "/srv/main-a";
    warnings = mkIf (site != "main") [ "not the main site" ];
  };

  # Module 6: reads the options tree.
  introspect = { options, ... }: {
    options.report = mkOption { type = types.attrsOf types.unspecified; default = { }; };
    config.report = {
      portPrio = options.services.web.port.highestPrio;
      workersDefined = options.services.web.workers.isDefined;
      enableFiles = builtins.length options.services.web.enable.files;
    };
  };

  eval = extra: lib.evalModules {
    modules = [ declare service profile user forced introspect ] ++ extra;
  };
  config = (eval [ ]).config;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
  caught = extra: sel: !(builtins.tryEval (sel (eval extra).config)).success;
in
{
  web = builtins.removeAttrs config.services.web [ "vhosts" ];
  vhosts = config.services.web.vhosts;
  inherit (config) env packages warnings report;
  failedAssertions = failed;
  failingAssertion = map (a: a.message) (builtins.filter (a: !a.assertion)
    (eval [ { services.web.workers = lib.mkForce null; } ]).config.assertions);
  portTypeError = caught [ { services.web.port = mkForce 70000; } ] (c: c.services.web.port);
  enumError = caught [ { services.web.mode = mkForce "test"; } ] (c: c.services.web.mode);
  readOnlyTwice = caught [ { services.web.vhosts."a.example".scheme = "ftp"; } ]
    (c: c.services.web.vhosts."a.example".scheme);
  undeclared = caught [ { services.web.nope = 1; } ] (c: c.services.web.enable);
}
