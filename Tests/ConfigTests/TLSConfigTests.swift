import Config
import Desks
import Foundation
import Testing

/// `tls`: paths relative to the config file's folder, both required and readable.
@Suite struct TLSConfigTests {
    func load(_ tls: Any, folder: String) throws -> UsersyncConfig {
        var root = ConfigTests.valid
        root["tls"] = tls
        let path = folder + "/usersync.json"
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        return try UsersyncConfig.load(path: path, desks: DeskRegistry.all)
    }

    func problems(_ tls: Any, folder: String) -> [String] {
        do {
            _ = try load(tls, folder: folder)
            return []
        } catch let e as ConfigError {
            return e.problems
        } catch {
            return ["\(error)"]
        }
    }

    @Test func pathsAreRelativeToTheConfigFileAndMustBeReadable() throws {
        let folder = NSTemporaryDirectory() + "usersync-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/certs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = FileManager.default.createFile(atPath: folder + "/certs/cert.pem", contents: Data("c".utf8))
        _ = FileManager.default.createFile(atPath: folder + "/certs/key.pem", contents: Data("k".utf8))

        let config = try load(["cert_file": "certs/cert.pem", "key_file": "./certs/key.pem"], folder: folder)
        #expect(config.tls?.certFile == folder + "/certs/cert.pem")
        #expect(config.tls?.keyFile == folder + "/certs/key.pem")
        #expect(try load(NSNull(), folder: folder).tls == nil)

        #expect(problems(["cert_file": "certs/cert.pem"], folder: folder) == ["tls.key_file: is required"])
        #expect(problems(["cert_file": "certs/nope.pem", "key_file": "certs/key.pem"], folder: folder)
            == ["tls.cert_file: 'certs/nope.pem' cannot be read"])
        #expect(problems(["cert_file": "", "key_file": 1], folder: folder) == ["tls.cert_file: must name a file", "tls.key_file: must be a string"])
    }
}
