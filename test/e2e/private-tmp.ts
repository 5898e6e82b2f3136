/**
 * Loaded first by the end-to-end suite's mocha (test/e2e/.mocharc.yml, scripts/e2e.sh): the suite drives
 * some stacks through the Automation API in its own process, so it gets the automation CLI's private
 * temporary folder (automation/scratch.ts) for its whole run: the Kubernetes provider's kubeconfig copies
 * and everything else the suite's processes leave there go with it when the suite ends.
 */
import { enterPrivateTmp } from "../../automation/scratch";

enterPrivateTmp();
