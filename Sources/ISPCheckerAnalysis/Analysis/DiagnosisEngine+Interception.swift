import ISPCheckerResults

extension DiagnosisComponent {
    /// Something between the client and its resolver answers DNS in the resolver's place.
    public static let dnsInterception = "DNS Interception"
    /// The network holds traffic behind a login or terms page.
    public static let captivePortal = "Captive Portal"
}

extension DiagnosisEngine {
    // MARK: DNS interception

    /// A middlebox redirects port 53 to its own resolver: a canary address that runs no
    /// resolver answers, the resolver's identity (`id.server` / `hostname.bind`, RFC 4892) is
    /// not the known one, or its answers are not the known data. Located at the smallest hop
    /// limit that gets an answer: a redirected query is delivered to the middlebox, not
    /// forwarded, so it is answered at the middlebox's hop, nearer than the resolver.
    static func dnsInterception(_ context: AnalysisContext) -> [Diagnosis] {
        guard let found = context.probes(named: ProbeName.dnsInterception).lazy.compactMap(\.measurement.dnsInterception).first,
              found.intercepted else { return [] }
        let resolver = found.resolver ?? "your resolver"
        var evidence: [Evidence] = []
        if found.canaryAnswered == true, let canary = found.canary {
            evidence.append(Evidence(probe: ProbeName.dnsInterception, detail: "\(canary) runs no resolver, yet a DNS query to it was answered"
                                     + (found.canaryIdentity.map { " (identity \"\($0)\")" } ?? "")))
        }
        let identityMismatch = found.expectedIdentity != nil && found.identity != nil && found.identity != found.expectedIdentity
        if identityMismatch, let expected = found.expectedIdentity, let identity = found.identity {
            evidence.append(Evidence(probe: ProbeName.dnsInterception,
                                     detail: "\(resolver) answers id.server/hostname.bind with \"\(identity)\", not its known identity \"\(expected)\""))
        }
        if let name = found.checkedName, !found.expectedAnswers.isEmpty, !found.answers.isEmpty, Set(found.answers) != Set(found.expectedAnswers) {
            evidence.append(Evidence(probe: ProbeName.dnsInterception,
                                     detail: "\(name) resolves to \(found.answers.joined(separator: ", ")), not the known \(found.expectedAnswers.joined(separator: ", "))"))
        }
        let place: String
        let action: String
        if let hop = found.interceptingHop {
            let address = context.trace?.hops.first { $0.ttl == hop }?.addresses.first.map { " (\($0.address))" } ?? ""
            let component = DiagnosisComponent.forHop(hop, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.peeringTransit)
            let owner = component == DiagnosisComponent.localNetwork ? "your own router" : component == DiagnosisComponent.ispAccess ? "your ISP's access network" : "a network past your ISP's access"
            evidence.insert(Evidence(probe: ProbeName.dnsInterception, hop: hop,
                                     detail: "DNS queries with a hop limit of \(hop) are answered: hop \(hop)\(address) answers port 53 itself"), at: 0)
            place = " at hop \(hop)\(address), \(owner)"
            action = component == DiagnosisComponent.localNetwork
                ? "Turn off DNS redirection (\"DNS proxy\", \"DNS hijack\", parental filter) on your router, or use encrypted DNS (DoT/DoH) to \(resolver)"
                : "Ask the operator of hop \(hop) (your ISP when it is in its network) why it redirects DNS; meanwhile use encrypted DNS (DoT/DoH) to \(resolver), which it cannot redirect"
        } else {
            place = " between you and \(resolver) (no hop could be told apart)"
            action = "Use encrypted DNS (DoT/DoH) to \(resolver), which a middlebox cannot redirect, and ask your ISP whether it redirects port 53"
        }
        // A canary that answers cannot be innocent; another identity is nearly as sure; other
        // answers alone could be a resolver that changed its data.
        let confidence = found.canaryAnswered == true ? 0.95 : identityMismatch ? 0.85 : 0.7
        return [Diagnosis(component: DiagnosisComponent.dnsInterception, confidence: confidence,
                          explanation: "DNS interception\(place): queries to \(resolver) are answered by another resolver, whose answers, filtering and logging are not the ones you chose",
                          suggestedAction: action, evidence: evidence)]
    }

    // MARK: Captive portal

    /// A URL whose answer is fixed (as the operating systems' connectivity checks) gets a
    /// redirect or another page: the network answers web requests itself until someone logs
    /// in or accepts its terms. Explains everything else that fails, so the outage rules give way.
    static func captivePortal(_ context: AnalysisContext) -> [Diagnosis] {
        guard let found = context.probes(named: ProbeName.captivePortal).lazy.compactMap(\.measurement.captivePortal).first,
              found.portal else { return [] }
        let url = found.url ?? "the check URL"
        var got = "HTTP \(found.statusCode.map(String.init) ?? "?")"
        if let expected = found.expectedStatus { got += " instead of \(expected)" }
        var evidence = [Evidence(probe: ProbeName.captivePortal, detail: "\(url) answered \(got)" + (found.serverAddress.map { " from \($0)" } ?? ""))]
        if let location = found.location { evidence.append(Evidence(probe: ProbeName.captivePortal, detail: "Location: \(location)")) }
        if let title = found.title { evidence.append(Evidence(probe: ProbeName.captivePortal, detail: "page title: \"\(title)\"")) }
        if found.bodyMatched == false { evidence.append(Evidence(probe: ProbeName.captivePortal, detail: "the page is not the check URL's fixed answer")) }
        let target = found.location.map { " (\($0))" } ?? (found.title.map { " (\"\($0)\")" } ?? "")
        return [Diagnosis(component: DiagnosisComponent.captivePortal, confidence: found.location != nil ? 0.95 : 0.85,
                          explanation: "Captive portal: the network answers web requests with its own page\(target) until you log in or accept its terms; other traffic may be held back until then",
                          suggestedAction: "Open a browser, go to any http:// page (or \(found.location ?? url)) and log in or accept the network's terms; then check again",
                          evidence: evidence)]
    }
}
