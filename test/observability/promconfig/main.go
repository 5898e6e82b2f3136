// Command promconfig-check validates Prometheus configuration files with the
// upstream config package of the Prometheus release the cluster runs, Kubernetes
// service discovery included. It performs the checks of `promtool check config`
// (parse and validate the file, every rule file it names parses, every credentials
// and TLS file it names exists) for promtool builds that lack Kubernetes discovery,
// such as Debian's.
//
//	promconfig-check prometheus.yml...
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-kit/log"
	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // registers kubernetes_sd_configs
	"github.com/prometheus/prometheus/model/rulefmt"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promconfig-check <prometheus.yml>...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		fmt.Printf("Checking %s\n", file)
		if err := check(file); err != nil {
			fmt.Printf("  FAILED: %v\n", err)
			failed = true
			continue
		}
		fmt.Printf("  SUCCESS: %s is valid prometheus config file syntax\n", file)
	}
	if failed {
		os.Exit(1)
	}
}

func check(file string) error {
	cfg, err := config.LoadFile(file, false, false, log.NewNopLogger())
	if err != nil {
		return err
	}
	var errs []error
	rules := 0
	for _, pattern := range cfg.RuleFiles {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(matches) == 0 {
			errs = append(errs, fmt.Errorf("rule_files %q matches no file", pattern))
		}
		for _, m := range matches {
			groups, perrs := rulefmt.ParseFile(m)
			errs = append(errs, perrs...)
			if groups != nil {
				for _, g := range groups.Groups {
					rules += len(g.Rules)
				}
			}
		}
	}
	scrapes, err := cfg.GetScrapeConfigs()
	if err != nil {
		return err
	}
	for _, sc := range scrapes {
		hc := sc.HTTPClientConfig
		if hc.Authorization != nil && hc.Authorization.CredentialsFile != "" {
			errs = append(errs, exists(sc.JobName, "authorization.credentials_file", hc.Authorization.CredentialsFile))
		}
		for field, f := range map[string]string{"ca_file": hc.TLSConfig.CAFile, "cert_file": hc.TLSConfig.CertFile, "key_file": hc.TLSConfig.KeyFile} {
			if f != "" {
				errs = append(errs, exists(sc.JobName, "tls_config."+field, f))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("  %d scrape configs, %d rules in %d rule file patterns\n", len(scrapes), rules, len(cfg.RuleFiles))
	return nil
}

func exists(job, field, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("job %q: %s: %w", job, field, err)
	}
	return nil
}
