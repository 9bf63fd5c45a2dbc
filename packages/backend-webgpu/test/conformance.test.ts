import { runConformance } from '@octet/conformance';
import { webGpuAvailability, whenAvailable } from './device.js';

const availability = await webGpuAvailability();

whenAvailable(availability, 'webgpu conformance', (backend) => {
  runConformance('webgpu', () => backend);
});
