/**
 * The shop platform. `pulumi up` per stack (local, dev, prod): reads and validates the stack config
 * first (a bad config fails here, before any resource is registered), then deploys the platform.
 */
import { loadConfig } from "./config";
import { deployPlatform } from "./platform";

const platform = deployPlatform(loadConfig());

export const namespace = platform.namespace;
export const apiUrl = platform.apiUrl;
export const imageDigests = platform.imageDigests;
export const serviceEndpoints = platform.serviceEndpoints;
export const observabilityNamespace = platform.observabilityNamespace;
export const grafanaUrl = platform.grafanaUrl;
export const prometheusUrl = platform.prometheusUrl;
export const kibanaUrl = platform.kibanaUrl;
export const elasticsearchUrl = platform.elasticsearchUrl;
