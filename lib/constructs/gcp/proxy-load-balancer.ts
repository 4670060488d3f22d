import { Construct } from 'constructs';
import { ComputeRegionNetworkEndpointGroup } from '@cdktf/provider-google/lib/compute-region-network-endpoint-group';
import { ComputeBackendService } from '@cdktf/provider-google/lib/compute-backend-service';
import { ComputeUrlMap } from '@cdktf/provider-google/lib/compute-url-map';
import { ComputeManagedSslCertificate } from '@cdktf/provider-google/lib/compute-managed-ssl-certificate';
import { ComputeTargetHttpsProxy } from '@cdktf/provider-google/lib/compute-target-https-proxy';
import { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address';
import { ComputeGlobalForwardingRule } from '@cdktf/provider-google/lib/compute-global-forwarding-rule';
import type { GcpPlacement } from './common';
import type { CloudRunHandler } from './cloud-run-handler';

export interface ProxyLoadBalancerProps {
  placement: GcpPlacement;
  target: CloudRunHandler;
  /** DNS name served with a Google-managed certificate, e.g. `search.example.com`. */
  domain: string;
  /** Cloud Armor security policy (name or self link) attached to the backend. */
  securityPolicy?: string;
}

/**
 * A global external HTTPS load balancer in front of the search proxy (serverless NEG → backend service →
 * URL map → HTTPS proxy with a managed certificate → forwarding rule on a reserved address). The service
 * keeps `internal-and-lb` ingress and its IAM check: callers still need roles/run.invoker and send an ID
 * token; the balancer adds a stable address, TLS on your domain and Cloud Armor.
 */
export class ProxyLoadBalancer extends Construct {
  readonly address: ComputeGlobalAddress;

  constructor(scope: Construct, id: string, props: ProxyLoadBalancerProps) {
    super(scope, id);
    const { placement, target } = props;
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(props.domain)) throw new Error(`load balancer domain "${props.domain}" is not a DNS name`);
    const n = (s: string) => `${target.serviceName}-${s}`;
    const neg = new ComputeRegionNetworkEndpointGroup(this, 'neg', {
      project: placement.project,
      region: placement.region,
      name: n('neg'),
      networkEndpointType: 'SERVERLESS',
      ...(target.fn ? { cloudFunction: { function: target.fn.name } } : { cloudRun: { service: target.service!.name } }),
    });
    const backend = new ComputeBackendService(this, 'backend', {
      project: placement.project,
      name: n('backend'),
      loadBalancingScheme: 'EXTERNAL_MANAGED',
      protocol: 'HTTPS',
      backend: [{ group: neg.id }],
      securityPolicy: props.securityPolicy,
      logConfig: { enable: true, sampleRate: 1 },
    });
    const urlMap = new ComputeUrlMap(this, 'url-map', { project: placement.project, name: n('url-map'), defaultService: backend.id });
    const cert = new ComputeManagedSslCertificate(this, 'cert', { project: placement.project, name: n('cert'), managed: { domains: [props.domain] } });
    const proxy = new ComputeTargetHttpsProxy(this, 'https-proxy', { project: placement.project, name: n('https-proxy'), urlMap: urlMap.id, sslCertificates: [cert.id] });
    this.address = new ComputeGlobalAddress(this, 'address', { project: placement.project, name: n('address') });
    new ComputeGlobalForwardingRule(this, 'https', {
      project: placement.project,
      name: n('https'),
      loadBalancingScheme: 'EXTERNAL_MANAGED',
      target: proxy.id,
      ipAddress: this.address.address,
      portRange: '443',
    });
  }
}
